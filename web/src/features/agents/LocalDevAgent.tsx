import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { BusyButton } from '../../components/BusyButton';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { api, unwrap } from '../../lib/api';
import { useFieldErrors } from '../../lib/field-errors';
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
  const form = useFieldErrors({ error: create.error });
  return (
    <section>
      <h1>New local-dev agent</h1>
      <p>
        A local-dev agent is code you write: download its scaffold, implement <code>handle(input, ctx)</code>,
        then <code>agentry deploy</code>. Each deployment runs in a sandbox and the newest serves its chats.
      </p>
      <form
        aria-label="New local-dev agent"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (form.check(new Map(name.trim() ? [] : [['name', 'A name is required.']]))) create.mutate();
        }}
      >
        <label htmlFor={form.input('name').id}>Name</label>
        <input {...form.bind('name', setName)} value={name} />
        <FieldError form={form} k="name" />
        <label htmlFor={form.input('description').id}>Description</label>
        <input {...form.bind('description', setDescription)} value={description} />
        <FieldError form={form} k="description" />
        <FormProblems form={form} />
        <ErrorNote error={form.unplaced(create.error)} />
        <div className="actions">
          <BusyButton type="submit" busy={create.isPending} busyReason="Creating the agent…">
            Create local-dev agent
          </BusyButton>
          <Link to="/agents">Cancel</Link>
        </div>
      </form>
    </section>
  );
}
