import { keepPreviousData, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { BusyButton } from '../../components/BusyButton';
import { CopyButton } from '../../components/CopyButton';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { Pager } from '../../components/Pager';
import { useAuth } from '../../lib/auth';
import { useFieldErrors } from '../../lib/field-errors';
import { count, num, when } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { authorizedFetch, errorOf } from '../../lib/sse';
import { useUrlState } from '../../lib/url-state';
import { ItemForm } from './ItemForm';
import { ItemTable } from './ItemTable';
import { datasetDetail, datasetItems, datasetKeys } from './queries';
import { Versions } from './Versions';

/**
 * One dataset: its items in pages (now, or as of an earlier version, `?version=`), each editable and
 * deletable, an item added by hand, a bulk import (JSONL or CSV) with per-line errors, its versions
 * and an export of what is shown.
 */
export function DatasetView() {
  const { id = '' } = useParams();
  const { can } = useAuth();
  const [offset, setOffset] = useState(0);
  const [asOf, setAsOf] = useUrlState('version', '');
  const [adding, setAdding] = useState(false);
  const dataset = useApiQuery(datasetDetail(id));
  // An old version's items are read as they were; the current version's are the live ones.
  const old = asOf && Number(asOf) !== dataset.data?.version ? Number(asOf) : undefined;
  const items = useApiQuery({ ...datasetItems(id, offset, old), placeholderData: keepPreviousData });
  if (dataset.error) {
    return (
      <section>
        <h1>Dataset</h1>
        <ErrorNote error={dataset.error} />
        <Link to="/datasets">Back to the datasets</Link>
      </section>
    );
  }
  if (!dataset.data) return <p className="muted">Loading the dataset…</p>;
  const d = dataset.data;
  const editable = can('write') && old === undefined;
  return (
    <section>
      <p>
        <Link to="/datasets">← Datasets</Link>
      </p>
      <div className="page-head">
        <h1>{d.name}</h1>
        <div className="actions">
          <ExportButton id={d.id} name={d.name} format="jsonl" version={old} />
          <ExportButton id={d.id} name={d.name} format="csv" version={old} />
          <Link className="button secondary" to={`/experiments/new?dataset=${d.id}`}>
            Run an experiment
          </Link>
        </div>
      </div>
      <p className="muted small">
        {count(d.item_count, 'item')} · version {num(d.version)} · updated {when(d.updated_at)} · id{' '}
        <code>{d.id}</code> <CopyButton text={d.id} label="Copy the dataset id" />
      </p>
      {d.description ? <p>{d.description}</p> : null}
      {can('write') ? <ImportForm id={d.id} /> : null}
      <div className="page-head">
        <h2 id="items-heading">{old === undefined ? 'Items' : `Items as of version ${num(old)}`}</h2>
        {editable && !adding ? (
          <button type="button" onClick={() => setAdding(true)}>
            Add an item
          </button>
        ) : null}
      </div>
      {old !== undefined ? (
        <p role="status">
          These are the items as they were at version {num(old)}, read-only.{' '}
          <button type="button" className="link" onClick={() => setAsOf('')}>
            Show the current items
          </button>
        </p>
      ) : null}
      {adding ? <ItemForm datasetId={d.id} onDone={() => setAdding(false)} /> : null}
      <ErrorNote error={items.error} />
      {items.data && items.data.data.length === 0 ? (
        <EmptyState title={old === undefined ? 'No items yet' : 'No items at this version'}>
          <p>Add one by hand, import JSONL or CSV above, or add a run from its page.</p>
        </EmptyState>
      ) : null}
      {items.data && items.data.data.length > 0 ? (
        <ItemTable datasetId={d.id} items={items.data.data} editable={editable} />
      ) : null}
      <Pager label="Item pages" offset={offset} page={items.data} onOffset={setOffset} />
      <Versions
        id={d.id}
        current={d.version}
        shown={old ?? d.version}
        onShow={(v) => {
          setOffset(0);
          setAsOf(v === d.version ? '' : String(v));
          document.getElementById('items-heading')?.scrollIntoView();
        }}
      />
    </section>
  );
}

interface ImportResult {
  imported: number;
  errors: { line: number; message: string }[];
}

const CONTENT_TYPES = { jsonl: 'application/x-ndjson', csv: 'text/csv' } as const;
const EXAMPLES = {
  jsonl: '{"input": {"message": "What is 2 + 2?"}, "expected": "4"}',
  csv: 'message,expected\nWhat is 2 + 2?,4',
};

/** Items pasted or read from a file, sent as one request; the lines that failed are listed by number. */
function ImportForm({ id }: { id: string }) {
  const client = useQueryClient();
  const [format, setFormat] = useState<keyof typeof CONTENT_TYPES>('jsonl');
  const [text, setText] = useState('');
  const run = useMutation({
    mutationFn: async (): Promise<ImportResult> => {
      const res = await authorizedFetch(`/v1/datasets/${encodeURIComponent(id)}/import`, {
        method: 'POST',
        headers: { 'content-type': CONTENT_TYPES[format] },
        body: text,
      });
      if (!res.ok) throw await errorOf(res);
      return (await res.json()) as ImportResult;
    },
    onSuccess: () => void client.invalidateQueries({ queryKey: datasetKeys.all }),
  });
  // The body is the items' text: a problem the server names in it is said under it.
  const form = useFieldErrors({ error: run.error, fieldOf: () => 'text' });
  const empty = text.trim() === '';
  return (
    <form
      className="panel"
      aria-label="Import items"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (form.check(new Map(empty ? [['text', 'Paste items or choose a file first.']] : []))) run.mutate();
      }}
    >
      <h2>Import items</h2>
      <div className="filters">
        <label>
          Format
          <select value={format} onChange={(e) => setFormat(e.target.value as typeof format)}>
            <option value="jsonl">JSONL</option>
            <option value="csv">CSV</option>
          </select>
        </label>
        <label>
          From a file
          <input
            type="file"
            accept=".jsonl,.ndjson,.csv,.txt"
            onChange={async (e) => {
              const file = e.target.files?.[0];
              if (!file) return;
              if (file.name.endsWith('.csv')) setFormat('csv');
              setText(await file.text());
              form.changed('text');
            }}
          />
        </label>
      </div>
      <div className="field">
        <label htmlFor={form.input('text').id}>
          Items ({format === 'jsonl' ? 'one JSON object a line' : 'a header line, then one item a line'})
        </label>
        <textarea {...form.bind('text', setText)} rows={6} value={text} placeholder={EXAMPLES[format]} />
        <FieldError form={form} k="text" />
      </div>
      <BusyButton type="submit" busy={run.isPending} busyReason="Importing the items…">
        Import
      </BusyButton>
      <FormProblems form={form} before="before importing" />
      <ErrorNote error={form.unplaced(run.error)} />
      {run.data ? (
        <div role="status">
          <p>
            Imported {count(run.data.imported, 'item')}
            {run.data.errors.length > 0 ? `; ${count(run.data.errors.length, 'line')} not imported:` : '.'}
          </p>
          {run.data.errors.length > 0 ? (
            <ul aria-label="Lines not imported" className="line-errors">
              {run.data.errors.map((e) => (
                <li key={e.line}>
                  Line {num(e.line)}: {e.message}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
    </form>
  );
}

/**
 * The export as a file: the route needs the key in a header, which a plain link cannot send, so the
 * file is fetched and handed to the browser as a download. Of an old version when one is shown.
 */
function ExportButton({
  id,
  name,
  format,
  version,
}: {
  id: string;
  name: string;
  format: 'jsonl' | 'csv';
  version: number | undefined;
}) {
  const run = useMutation({
    mutationFn: async () => {
      const query = new URLSearchParams({ format, ...(version && { version: String(version) }) });
      const res = await authorizedFetch(`/v1/datasets/${encodeURIComponent(id)}/export?${query}`);
      if (!res.ok) throw await errorOf(res);
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = `${name}${version ? `@${version}` : ''}.${format}`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    },
  });
  return (
    <>
      <BusyButton
        className="secondary"
        busy={run.isPending}
        busyReason="Preparing the export…"
        onClick={() => run.mutate()}
      >
        Export {format.toUpperCase()}
      </BusyButton>
      <ErrorNote error={run.error} />
    </>
  );
}
