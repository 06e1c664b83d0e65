import { keepPreviousData } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { ErrorNote } from '../../components/ErrorNote';
import { Pager } from '../../components/Pager';
import { StatusBadge } from '../../components/StatusBadge';
import { bytes, count, when } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { kbChunks, kbDetail, kbDocument } from './queries';

/** One document of a knowledge base: what it is, and its chunks as search finds them. */
export function DocumentView() {
  const { id = '', documentId = '' } = useParams();
  const kb = useApiQuery(kbDetail(id));
  const doc = useApiQuery(kbDocument(id, documentId));
  const [offset, setOffset] = useState(0);
  const chunks = useApiQuery({ ...kbChunks(id, documentId, offset), placeholderData: keepPreviousData });
  const d = doc.data;
  return (
    <section>
      <p>
        <Link to={`/knowledge/${id}`}>← {kb.data?.name ?? 'Knowledge base'}</Link>
      </p>
      <h1>{d?.title || d?.source || 'Document'}</h1>
      <ErrorNote error={doc.error ?? chunks.error} />
      {doc.isPending ? <p className="muted">Loading the document…</p> : null}
      {d ? (
        <dl className="facts">
          <dt>Source</dt>
          <dd>{d.source}</dd>
          <dt>Format</dt>
          <dd>{d.format}</dd>
          <dt>Size</dt>
          <dd>{bytes(d.bytes)}</dd>
          <dt>Ingestion</dt>
          <dd>
            <StatusBadge status={d.ingestion} /> {count(d.chunk_count, 'chunk')}
          </dd>
          <dt>Updated</dt>
          <dd>{when(d.updated_at)}</dd>
        </dl>
      ) : null}
      <h2>Chunks</h2>
      {chunks.data?.total === 0 ? <p className="muted">No text to search in this document.</p> : null}
      <ol className="chunks" aria-label="Chunks">
        {chunks.data?.data.map((c) => (
          <li key={c.id}>
            <p className="muted small">
              #{c.position + 1}
              {c.heading_path.length > 0 ? ` · ${c.heading_path.join(' › ')}` : ''}
              {c.embedded ? '' : ' · words only'}
            </p>
            <p className="prewrap">{c.content}</p>
          </li>
        ))}
      </ol>
      <Pager label="Chunk pages" offset={offset} page={chunks.data} onOffset={setOffset} />
    </section>
  );
}
