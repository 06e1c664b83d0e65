import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, Route, Routes } from 'react-router';
import { api, unwrap } from '../api';
import { useAuth } from '../auth';
import { EmptyState } from '../components/EmptyState';
import { ErrorNote } from '../components/ErrorNote';
import { PAGE_SIZE, Pager } from '../components/Pager';
import { KnowledgeBase } from '../ops/KnowledgeBase';
import '../ops/ops.css';

const kinds = ['domain', 'persona', 'tools', 'playbooks', 'custom'] as const;

export default function Knowledge() {
  return (
    <Routes>
      <Route index element={<KbList />} />
      <Route path=":id" element={<KnowledgeBase />} />
    </Routes>
  );
}

function KbList() {
  const { can } = useAuth();
  const client = useQueryClient();
  const [offset, setOffset] = useState(0);
  const kbs = useQuery({
    queryKey: ['kbs', offset],
    placeholderData: keepPreviousData,
    queryFn: async () =>
      unwrap(await api.GET('/v1/knowledge-bases', { params: { query: { limit: PAGE_SIZE, offset } } })),
  });
  const [name, setName] = useState('');
  const [kind, setKind] = useState<(typeof kinds)[number]>('domain');
  const create = useMutation({
    mutationFn: async () => unwrap(await api.POST('/v1/knowledge-bases', { body: { name, kind } })),
    onSuccess: () => {
      setName('');
      void client.invalidateQueries({ queryKey: ['kbs'] });
    },
  });
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
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <label>
            Name
            <input value={name} onChange={(e) => setName(e.target.value)} required />
          </label>
          <label>
            Kind
            <select value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
              {kinds.map((k) => (
                <option key={k}>{k}</option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={create.isPending}>
            Create knowledge base
          </button>
          <ErrorNote error={create.error} />
        </form>
      ) : null}
    </section>
  );
}
