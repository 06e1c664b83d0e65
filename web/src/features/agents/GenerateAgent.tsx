import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { BusyButton } from '../../components/BusyButton';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { api, type paths, unwrap } from '../../lib/api';
import { useFieldErrors } from '../../lib/field-errors';
import { AgentForm } from './AgentForm';
import { blankDraft, bodyOf, type Draft, draftOfInput, type Field } from './draft';
import { agentKeys, useModels } from './queries';

type Proposed = paths['/v1/agents/generate/draft']['post']['responses'][200]['content']['application/json'];
type Saved = paths['/v1/agents/generate/save']['post']['requestBody']['content']['application/json'];

/**
 * An agent (or a team) drafted by a model from a plain-language requirement. The draft lives in the
 * page until it is saved: leaving the page, or discarding it, leaves nothing behind.
 */
export function GenerateAgent() {
  const [requirement, setRequirement] = useState('');
  const [proposed, setProposed] = useState<Proposed>();
  const generate = useMutation({
    mutationFn: async () => unwrap(await api.POST('/v1/agents/generate/draft', { body: { requirement } })),
    onSuccess: setProposed,
  });
  const form = useFieldErrors({ error: generate.error });
  if (proposed) return <ReviewDraft proposed={proposed} />;
  return (
    <section>
      <h1>Describe the agent you need</h1>
      <form
        aria-label="Describe the agent"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const short = requirement.trim().length < 3;
          const problems = new Map(
            short ? [['requirement', 'Describe what it should do (3 characters or more).']] : [],
          );
          if (form.check(problems)) generate.mutate();
        }}
      >
        <label htmlFor={form.input('requirement').id}>What should it do?</label>
        <textarea
          {...form.bind('requirement', setRequirement)}
          rows={5}
          value={requirement}
          placeholder="An agent that reads our support tickets and drafts answers, citing the knowledge base."
        />
        <FieldError form={form} k="requirement" />
        <p className="muted hint">
          The model drafts the name, instructions and tools (and a team when the job needs several agents).
          You review the draft before anything is saved.
        </p>
        <FormProblems form={form} before="before drafting" />
        <ErrorNote error={form.unplaced(generate.error)} />
        <div className="actions">
          <BusyButton type="submit" busy={generate.isPending} busyReason="The model is drafting the agent…">
            {generate.isPending ? 'Drafting…' : 'Draft it'}
          </BusyButton>
          <Link to="/agents">Cancel</Link>
        </div>
      </form>
    </section>
  );
}

/** The draft's first agent in the full form, the rest of it (other agents, the team) beside it. */
function ReviewDraft({ proposed }: { proposed: Proposed }) {
  const { draft } = proposed;
  const [first, ...others] = draft.agents;
  const models = useModels();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const save = useMutation({
    mutationFn: async (d: Draft) =>
      unwrap(await api.POST('/v1/agents/generate/save', { body: edited(draft, d) })),
    onSuccess: (out) => {
      void qc.invalidateQueries({ queryKey: agentKeys.all });
      navigate(`/agents/${out.agents[0]!.id}`);
    },
  });
  const defaultModel = models.data?.[0] ?? '';
  // The form starts from its first values: the models come first (the draft names none).
  if (!models.data && !models.error) return <p className="muted">Loading…</p>;
  return (
    <section>
      <h1>Review the draft</h1>
      <div className="banner" role="status">
        <p>
          <strong>Generated draft.</strong> Nothing is saved yet (
          {proposed.generated_by === 'model'
            ? `drafted by ${proposed.model}`
            : 'drafted from the requirement’s words'}
          ). Review every field, then save it, or discard it.
        </p>
        {others.length > 0 || draft.team ? (
          <p>
            With it: {others.map((a) => a.name).join(', ')}
            {draft.team ? ` and the ${draft.team.kind} team ${draft.team.name}` : ''}, saved together.
          </p>
        ) : null}
      </div>
      <AgentForm
        initial={first ? draftOfInput(first, defaultModel) : blankDraft(defaultModel)}
        editable
        submitLabel="Save the draft"
        busy={save.isPending}
        error={save.error}
        onSubmit={(d) => save.mutate(d)}
        extraActions={
          <button type="button" className="secondary" onClick={() => navigate('/agents')}>
            Discard the draft
          </button>
        }
      />
    </section>
  );
}

/** The draft with its first agent as the form left it; a new name follows into handoffs and the team. */
function edited(draft: Proposed['draft'], d: Draft): Saved {
  const [first, ...others] = draft.agents;
  const was = first?.name ?? '';
  const rename = (n: string) => (n === was ? d.name : n);
  const all = Object.keys(blankDraft()) as Field[];
  return {
    agents: [
      {
        ...first,
        ...bodyOf(
          d,
          all.filter((f) => f !== 'budget'),
        ),
        name: d.name,
        source: 'generated',
      },
      ...others.map((a) => ({ ...a, handoffs: a.handoffs?.map(rename) })),
    ],
    team: draft.team && {
      ...draft.team,
      entry: rename(draft.team.entry),
      edges: draft.team.edges.map((e) => ({ from: rename(e.from), to: rename(e.to) })),
    },
  };
}
