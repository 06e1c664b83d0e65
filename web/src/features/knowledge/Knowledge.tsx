import { keepPreviousData, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, Route, Routes } from 'react-router';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { Pager } from '../../components/Pager';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { useFieldErrors } from '../../lib/field-errors';
import { resourceKey, useApiQuery } from '../../lib/query';
import { DocumentView } from './DocumentView';
import { KnowledgeBase } from './KnowledgeBase';
import { kbPage } from './queries';
import '../../components/ui.css';
import './knowledge.css';
import { BusyButton } from '../../components/BusyButton';

const kinds = ['domain', 'persona', 'tools', 'playbooks', 'custom'] as const;

/** /knowledge (the bases) and /knowledge/:id (one base). */
export default function Knowledge() {
  return (
    <Routes>
      <Route index element={<KbList />} />
      <Route path=":id" element={<KnowledgeBase />} />
      <Route path=":id/documents/:documentId" element={<DocumentView />} />
    </Routes>
  );
}

function KbList() {
  const { can } = useAuth();
  const client = useQueryClient();
  const [offset, setOffset] = useState(0);
  const kbs = useApiQuery({ ...kbPage(offset), placeholderData: keepPreviousData });
  const [name, setName] = useState('');
  const [kind, setKind] = useState<(typeof kinds)[number]>('domain');
  const create = useMutation({
    mutationFn: async () => unwrap(await api.POST('/v1/knowledge-bases', { body: { name, kind } })),
    onSuccess: () => {
      setName('');
      void client.invalidateQueries({ queryKey: resourceKey('knowledge-bases') });
    },
  });
  const form = useFieldErrors({ error: create.error });
  return (
    <section>
      <h1>Knowledge</h1>
      <ErrorNote error={kbs.error} />
      {kbs.data && kbs.data.data.length === 0 ? (
        <EmptyState title="No knowledge bases yet">
          <p>
            A knowledge base holds documents an agent searches while it answers. Create one, then drop files
            into it.
          </p>
        </EmptyState>
      ) : null}
      {kbs.data && kbs.data.data.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Kind</th>
              <th>Documents</th>
              <th>Chunks</th>
            </tr>
          </thead>
          <tbody>
            {kbs.data.data.map((kb) => (
              <tr key={kb.id}>
                <td>
                  <Link to={`/knowledge/${kb.id}`}>{kb.name}</Link>
                </td>
                <td>{kb.kind}</td>
                <td>{kb.document_count}</td>
                <td>{kb.chunk_count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <Pager label="Knowledge base pages" offset={offset} page={kbs.data} onOffset={setOffset} />
      {can('write') ? (
        <form
          className="filters panel"
          aria-label="New knowledge base"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            const problems = new Map(name.trim() ? [] : ([['name', 'Name the knowledge base.']] as const));
            if (form.check(problems)) create.mutate();
          }}
        >
          <div className="field">
            <label htmlFor={form.input('name').id}>Name</label>
            <input {...form.bind('name', setName)} value={name} required />
            <FieldError form={form} k="name" />
          </div>
          <div className="field">
            <label htmlFor={form.input('kind').id}>Kind</label>
            <select {...form.bind('kind', (v) => setKind(v as typeof kind))} value={kind}>
              {kinds.map((k) => (
                <option key={k}>{k}</option>
              ))}
            </select>
            <FieldError form={form} k="kind" />
          </div>
          <BusyButton type="submit" busy={create.isPending} busyReason="Creating the knowledge base…">
            Create knowledge base
          </BusyButton>
          <FormProblems form={form} before="before creating it" />
          <ErrorNote error={form.unplaced(create.error)} />
        </form>
      ) : null}
    </section>
  );
}
