import { keepPreviousData, useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { BusyButton } from '../../components/BusyButton';
import { TableWrap } from '../../components/Code';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError } from '../../components/FieldError';
import { Pager } from '../../components/Pager';
import { StatusBadge } from '../../components/StatusBadge';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { useFieldErrors } from '../../lib/field-errors';
import { count, when } from '../../lib/format';
import { resourceKey, useApiQuery } from '../../lib/query';
import { kbDetail, kbDocuments } from './queries';
import { uploadDocument } from './upload';

/** What each ingestion state means for search, beside its badge. */
const ingestionNote = {
  embedded: (model: string | null) => `found by words and meaning (${model})`,
  lexical: () => 'found by words only: no embedding model is configured',
  empty: () => 'no text to search',
} as const;

interface Upload {
  key: number;
  name: string;
  progress: number;
  /** uploading → ingesting (bytes sent, the server chunks and embeds) → the server's answer. */
  state: string;
  error?: unknown;
}

/** One knowledge base: documents, drag-and-drop upload with progress, and a search tester. */
export function KnowledgeBase() {
  const { id = '' } = useParams();
  const { can } = useAuth();
  const kb = useApiQuery(kbDetail(id));
  const [offset, setOffset] = useState(0);
  const docs = useApiQuery({ ...kbDocuments(id, offset), placeholderData: keepPreviousData });
  const client = useQueryClient();
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState<'base' | { id: string; source: string }>();
  const remove = useMutation({
    mutationFn: async (what: 'base' | { id: string }) =>
      unwrap(
        what === 'base'
          ? await api.DELETE('/v1/knowledge-bases/{id}', { params: { path: { id } } })
          : await api.DELETE('/v1/knowledge-bases/{id}/documents/{documentId}', {
              params: { path: { id, documentId: what.id } },
            }),
      ),
    onSuccess: (_, what) => {
      setConfirming(undefined);
      if (what === 'base') {
        client.removeQueries({ queryKey: kbDetail(id).queryKey });
        navigate('/knowledge');
      }
      void client.invalidateQueries({ queryKey: resourceKey('knowledge-bases') });
    },
  });
  const name = kb.data?.name ?? 'Knowledge base';
  return (
    <section>
      <p>
        <Link to="/knowledge">← Knowledge</Link>
      </p>
      <div className="page-head">
        <h1>{name}</h1>
        {can('write') && kb.data ? (
          <button type="button" className="danger" onClick={() => setConfirming('base')}>
            Delete knowledge base
          </button>
        ) : null}
      </div>
      {confirming ? (
        <ConfirmDialog
          action={confirming === 'base' ? `Delete ${name}` : `Delete ${confirming.source}`}
          busy={remove.isPending}
          error={remove.error}
          onConfirm={() => remove.mutate(confirming)}
          onCancel={() => {
            setConfirming(undefined);
            remove.reset();
          }}
        >
          {confirming === 'base' ? (
            <>
              Delete <strong>{name}</strong> with its {count(kb.data?.document_count ?? 0, 'document')} and
              their chunks? Agents can no longer search it. This cannot be undone.
            </>
          ) : (
            <>
              Delete the document <strong>{confirming.source}</strong> and its chunks from {name}?
            </>
          )}
        </ConfirmDialog>
      ) : null}
      <ErrorNote error={kb.error ?? docs.error} />
      {can('write') ? <DropZone kbId={id} /> : null}
      <h2>Documents</h2>
      {docs.data && docs.data.data.length === 0 ? (
        <p className="muted">No documents yet: drop Markdown, text, HTML or PDF files above.</p>
      ) : null}
      {docs.data && docs.data.data.length > 0 ? (
        <TableWrap label="Documents table">
          <table>
            <thead>
              <tr>
                <th>Source</th>
                <th>Format</th>
                <th>Ingestion</th>
                <th>Chunks</th>
                <th>Updated</th>
                {can('write') ? <th>Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {docs.data.data.map((d) => (
                <tr key={d.id}>
                  <td>
                    <Link to={`documents/${d.id}`}>{d.source}</Link>
                  </td>
                  <td>{d.format}</td>
                  <td>
                    <StatusBadge status={d.ingestion} />{' '}
                    <span className="muted small">{ingestionNote[d.ingestion](d.embedding_model)}</span>
                  </td>
                  <td>
                    {d.chunk_count}
                    {d.ingestion === 'embedded' && d.embedded_chunks < d.chunk_count
                      ? ` (${d.embedded_chunks} with vectors)`
                      : ''}
                  </td>
                  <td>{when(d.updated_at)}</td>
                  {can('write') ? (
                    <td>
                      <button
                        type="button"
                        className="danger"
                        onClick={() => setConfirming({ id: d.id, source: d.source })}
                      >
                        Delete {d.source}
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      <Pager label="Document pages" offset={offset} page={docs.data} onOffset={setOffset} />
      <SearchTester kbId={id} />
    </section>
  );
}

function DropZone({ kbId }: { kbId: string }) {
  const client = useQueryClient();
  const inputId = useId();
  const [over, setOver] = useState(false);
  const [uploads, setUploads] = useState<Upload[]>([]);
  const patch = (i: number, p: Partial<Upload>) =>
    setUploads((u) => u.map((x, j) => (j === i ? { ...x, ...p } : x)));

  const send = async (files: File[]) => {
    const first = uploads.length;
    setUploads((u) => [
      ...u,
      ...files.map((f, k) => ({ key: first + k, name: f.name, progress: 0, state: 'uploading' })),
    ]);
    // One at a time: each file's progress bar means something, and the server ingests in order.
    for (const [k, file] of files.entries()) {
      const i = first + k;
      try {
        const result = await uploadDocument(kbId, file, (p) =>
          patch(i, { progress: p, state: p >= 1 ? 'ingesting' : 'uploading' }),
        );
        patch(i, { progress: 1, state: result.status });
      } catch (error) {
        patch(i, { state: 'failed', error });
      }
      // The base (its counts) and every page of its documents.
      void client.invalidateQueries({ queryKey: kbDetail(kbId).queryKey });
      void client.invalidateQueries({ queryKey: ['knowledge-bases', 'documents', kbId] });
    }
  };

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: a drop target for the mouse; the file input inside is the keyboard's way
    <div
      className={`dropzone${over ? ' over' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        void send([...e.dataTransfer.files]);
      }}
    >
      <p>Drop files here, or</p>
      <label htmlFor={inputId} className="button-like">
        Choose files to upload
      </label>
      <input
        id={inputId}
        type="file"
        multiple
        className="sr-only"
        onChange={(e) => {
          void send([...(e.target.files ?? [])]);
          e.target.value = '';
        }}
      />
      {uploads.length > 0 ? (
        <ul className="uploads">
          {uploads.map((u) => (
            <li key={u.key}>
              {u.name} <progress max={1} value={u.progress} aria-label={`${u.name} upload`} />{' '}
              <StatusBadge status={u.state} />
              {u.error ? <ErrorNote error={u.error} /> : null}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

function SearchTester({ kbId }: { kbId: string }) {
  const [query, setQuery] = useState('');
  const [mode, setMode] = useState<'hybrid' | 'text' | 'vector'>('hybrid');
  const search = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/v1/knowledge-bases/{id}/search', {
          params: { path: { id: kbId } },
          body: { query, mode, top_k: 10, explain: true },
        }),
      ),
  });
  const fmt = (n: number | null | undefined, digits = 4) =>
    n === null || n === undefined ? '—' : n.toFixed(digits);
  const form = useFieldErrors({ error: search.error });
  return (
    <section className="panel">
      <h2>Search tester</h2>
      <form
        className="filters"
        aria-label="Search tester"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (form.check(new Map(query.trim() ? [] : [['query', 'Type what to search for.']])))
            search.mutate();
        }}
      >
        <div className="field">
          <label htmlFor={form.input('query').id}>Query</label>
          <input {...form.bind('query', setQuery)} type="search" value={query} size={40} />
          <FieldError form={form} k="query" />
        </div>
        <div className="field">
          <label htmlFor={form.input('mode').id}>Mode</label>
          <select {...form.bind('mode', (v) => setMode(v as typeof mode))} value={mode}>
            <option>hybrid</option>
            <option>text</option>
            <option>vector</option>
          </select>
          <FieldError form={form} k="mode" />
        </div>
        <BusyButton type="submit" busy={search.isPending} busyReason="Searching…">
          Search
        </BusyButton>
      </form>
      <ErrorNote error={form.unplaced(search.error)} />
      {search.data?.notice ? <p className="muted">{search.data.notice}</p> : null}
      {search.data ? (
        search.data.data.length === 0 ? (
          <p className="muted">No hits.</p>
        ) : (
          <TableWrap label="Search hits table">
            <table aria-label="Search hits">
              <thead>
                <tr>
                  <th>#</th>
                  <th>Document · passage</th>
                  <th>Lexical</th>
                  <th>Vector</th>
                  <th>Fused</th>
                </tr>
              </thead>
              <tbody>
                {search.data.data.map((h, i) => (
                  <tr key={h.chunk_id}>
                    <td>{i + 1}</td>
                    <td>
                      <strong>{h.document.source}</strong>
                      {h.heading_path.length > 0 ? (
                        <span className="muted"> › {h.heading_path.join(' › ')}</span>
                      ) : null}
                      <div className="muted">{h.content.slice(0, 240)}</div>
                    </td>
                    <td>
                      {fmt(h.text_score)}
                      <div className="muted">rank {h.text_rank ?? '—'}</div>
                    </td>
                    <td>
                      {fmt(h.vector_score)}
                      <div className="muted">rank {h.vector_rank ?? '—'}</div>
                    </td>
                    <td>{fmt(h.score, 5)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )
      ) : null}
    </section>
  );
}
