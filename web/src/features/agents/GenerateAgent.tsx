import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, unwrap } from '../../api';
import { ErrorNote } from '../../components/ErrorNote';
import { agentKeys } from './queries';

/**
 * An agent (or a team) drafted by a model from a plain-language requirement. The server creates
 * the draft; the editor opens on it with a banner to review and save it, or discard it (deleted).
 */
export function GenerateAgent() {
  const [requirement, setRequirement] = useState('');
  const qc = useQueryClient();
  const navigate = useNavigate();
  const generate = useMutation({
    mutationFn: async () => unwrap(await api.POST('/v1/agents/generate', { body: { requirement } })),
    onSuccess: (g) => {
      void qc.invalidateQueries({ queryKey: agentKeys.all });
      const first = g.agents[0];
      if (!first) return;
      const ids = g.agents.map((a) => a.id).join(',');
      const team = g.multi_agent ? `&team=${g.multi_agent.id}` : '';
      navigate(`/agents/${first.id}?draft=${ids}${team}`);
    },
  });
  return (
    <section>
      <h1>Describe the agent you need</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (requirement.trim().length >= 3) generate.mutate();
        }}
      >
        <label htmlFor="requirement">What should it do?</label>
        <textarea
          id="requirement"
          rows={5}
          value={requirement}
          placeholder="An agent that reads our support tickets and drafts answers, citing the knowledge base."
          onChange={(e) => setRequirement(e.target.value)}
        />
        <p className="muted hint">
          The model drafts the name, instructions and tools (and a team when the job needs several agents).
          You review the draft before keeping it.
        </p>
        <ErrorNote error={generate.error} />
        <div className="actions">
          <button type="submit" disabled={generate.isPending || requirement.trim().length < 3}>
            {generate.isPending ? 'Drafting…' : 'Draft it'}
          </button>
          <Link to="/agents">Cancel</Link>
        </div>
      </form>
    </section>
  );
}
