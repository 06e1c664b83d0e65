import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { BusyButton } from '../../components/BusyButton';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { api, unwrap } from '../../lib/api';
import { useFieldErrors } from '../../lib/field-errors';
import { Categories } from './Categories';
import { bodyOf, type Draft, emptyDraft, type Kind, kinds, problems } from './draft';
import { scoreConfigKeys } from './queries';

const kindHints: Record<Kind, string> = {
  numeric: 'a number, optionally in an inclusive range',
  categorical: 'one of named categories, each counting as a number',
  boolean: 'true or false (counted 1 and 0)',
};

/** Define a score config; its kind and values never change afterwards (a new scale is a new config). */
export function NewScoreConfig() {
  const client = useQueryClient();
  const navigate = useNavigate();
  const [d, setD] = useState<Draft>(emptyDraft);
  const create = useMutation({
    mutationFn: async () => unwrap(await api.POST('/v1/score-configs', { body: bodyOf(d) })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: scoreConfigKeys.all });
      navigate('/score-configs');
    },
  });
  const form = useFieldErrors({ error: create.error });
  const set =
    <K extends keyof Draft>(k: K) =>
    (v: Draft[K]) =>
      setD((x) => ({ ...x, [k]: v }));
  return (
    <section>
      <p>
        <Link to="/score-configs">← Score configs</Link>
      </p>
      <h1>New score config</h1>
      <form
        className="stack"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (form.check(problems(d))) create.mutate();
        }}
      >
        <div className="field">
          <label htmlFor={form.input('name').id}>Name</label>
          <input {...form.bind('name', set('name'))} value={d.name} />
          <p className="muted hint">Scores of this name are checked against the config.</p>
          <FieldError form={form} k="name" />
        </div>
        <div className="field">
          <label htmlFor={form.input('kind').id}>Kind</label>
          <select {...form.bind('kind', (v) => set('kind')(v as Kind))} value={d.kind}>
            {kinds.map((k) => (
              <option key={k} value={k}>
                {k}: {kindHints[k]}
              </option>
            ))}
          </select>
          <FieldError form={form} k="kind" />
        </div>
        <div className="field">
          <label htmlFor={form.input('description').id}>Description (optional)</label>
          <input {...form.bind('description', set('description'))} value={d.description} />
          <FieldError form={form} k="description" />
        </div>
        {d.kind === 'numeric' ? (
          <div className="pair">
            <div className="field">
              <label htmlFor={form.input('min').id}>Min (optional)</label>
              <input
                {...form.bind('min', set('min'))}
                inputMode="decimal"
                placeholder="no lower bound"
                value={d.min}
              />
              <FieldError form={form} k="min" />
            </div>
            <div className="field">
              <label htmlFor={form.input('max').id}>Max (optional)</label>
              <input
                {...form.bind('max', set('max'))}
                inputMode="decimal"
                placeholder="no upper bound"
                value={d.max}
              />
              <FieldError form={form} k="max" />
            </div>
          </div>
        ) : null}
        {d.kind === 'categorical' ? (
          <Categories value={d.categories} onChange={set('categories')} form={form} />
        ) : null}
        <div>
          <BusyButton type="submit" busy={create.isPending} busyReason="Creating the score config…">
            Create score config
          </BusyButton>
        </div>
        <FormProblems form={form} before="before creating it" />
        <ErrorNote error={form.unplaced(create.error)} />
      </form>
    </section>
  );
}
