import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { ErrorNote } from '../../components/ErrorNote';
import { api, unwrap } from '../../lib/api';
import { agentKeys } from './queries';

/** A local-dev agent: its code lives in a project the user downloads, builds and deploys. */
export function LocalDevAgent() {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const qc = useQueryClient();
  const navigate = useNavigate();
  const create = useMutation({
    mutationFn: async () =>
      unwrap(await api.POST('/v1/agents/local-dev', { body: { name, ...(description && { description }) } })),
    onSuccess: (r) => {
      void qc.invalidateQueries({ queryKey: agentKeys.all });
      navigate(`/agents/${r.agent.id}`);
    },
  });
  return (
    <section>
      <h1>New local-dev agent</h1>
      <p>
        A local-dev agent is code you write: download its scaffold, implement <code>handle(input, ctx)</code>,
        then <code>agentry deploy</code>. Each deployment runs in a sandbox and the newest serves its chats.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim()) create.mutate();
        }}
      >
        <label htmlFor="ld-name">Name</label>
        <input id="ld-name" value={name} onChange={(e) => setName(e.target.value)} />
        <label htmlFor="ld-description">Description</label>
        <input id="ld-description" value={description} onChange={(e) => setDescription(e.target.value)} />
        <ErrorNote error={create.error} />
        <div className="actions">
          <button type="submit" disabled={create.isPending || !name.trim()}>
            Create local-dev agent
          </button>
          <Link to="/agents">Cancel</Link>
        </div>
      </form>
    </section>
  );
}
