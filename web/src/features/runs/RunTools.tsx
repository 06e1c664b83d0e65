import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { BusyButton } from '../../components/BusyButton';
import { TableWrap } from '../../components/Code';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { useFieldErrors } from '../../lib/field-errors';
import { when } from '../../lib/format';
import { resourceKey, useApiQuery } from '../../lib/query';
import { allDatasets, runDetail } from '../../lib/resources';
import { runScores } from './queries';

/** What a run's page offers beyond its trace: its scores, a fork, a comparison, "add to a dataset". */
export function RunTools({ runId }: { runId: string }) {
  const { can } = useAuth();
  return (
    <div className="run-tools">
      <Scores runId={runId} editable={can('write')} />
      {can('write') ? <Fork runId={runId} /> : null}
      <CompareWith runId={runId} />
      {can('write') ? <AddToDataset runId={runId} /> : null}
    </div>
  );
}

function Scores({ runId, editable }: { runId: string; editable: boolean }) {
  const id = useId();
  const client = useQueryClient();
  const scores = useApiQuery(runScores(runId));
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [comment, setComment] = useState('');
  const add = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/v1/runs/{id}/scores', {
          params: { path: { id: runId } },
          body: {
            name,
            value: Number(value),
            source: 'human',
            ...(comment.trim() && { comment: comment.trim() }),
          },
        }),
      ),
    onSuccess: () => {
      setName('');
      setValue('');
      setComment('');
      void client.invalidateQueries({ queryKey: runScores(runId).queryKey });
    },
  });
  const problems = new Map<string, string>();
  if (!name.trim()) problems.set('name', 'Name the score (e.g. helpfulness).');
  if (value.trim() === '' || !Number.isFinite(Number(value)))
    problems.set('value', 'A number, e.g. 1 or 0.5.');
  const form = useFieldErrors({ error: add.error });
  return (
    <section className="panel" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Scores</h2>
      <ErrorNote error={scores.error} />
      {scores.data && scores.data.data.length === 0 ? <p className="muted">No score yet.</p> : null}
      {scores.data && scores.data.data.length > 0 ? (
        <TableWrap label="Scores table">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Value</th>
                <th>Source</th>
                <th>Comment</th>
                <th>When</th>
              </tr>
            </thead>
            <tbody>
              {scores.data.data.map((s) => (
                <tr key={s.id}>
                  <td>{s.name}</td>
                  <td>{s.value}</td>
                  <td>
                    {s.source}
                    {s.experiment_id ? (
                      <>
                        {' '}
                        (<Link to={`/experiments/${s.experiment_id}`}>experiment</Link>)
                      </>
                    ) : null}
                  </td>
                  <td>{s.comment ?? '—'}</td>
                  <td>{when(s.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      {editable ? (
        <form
          className="filters"
          aria-label="Add a score"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            if (form.check(problems)) add.mutate();
          }}
        >
          {(
            [
              ['name', 'Score name', name, setName],
              ['value', 'Value', value, setValue],
              ['comment', 'Comment', comment, setComment],
            ] as const
          ).map(([k, label, v, set]) => (
            <div className="field" key={k}>
              <label htmlFor={form.input(k).id}>{label}</label>
              <input
                {...form.bind(k, set)}
                value={v}
                inputMode={k === 'value' ? 'decimal' : undefined}
                size={k === 'comment' ? 24 : 10}
              />
              <FieldError form={form} k={k} />
            </div>
          ))}
          <BusyButton type="submit" busy={add.isPending} busyReason="Saving the score…">
            Add score
          </BusyButton>
          <FormProblems form={form} before="before adding it" />
          <ErrorNote error={form.unplaced(add.error)} />
        </form>
      ) : null}
    </section>
  );
}

/** A new run from a recorded step of this one (0: a replay), optionally with the user message edited. */
function Fork({ runId }: { runId: string }) {
  const id = useId();
  const navigate = useNavigate();
  const run = useApiQuery(runDetail(runId));
  const [step, setStep] = useState(0);
  const [message, setMessage] = useState('');
  const fork = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/v1/runs/{id}/fork', {
          params: { path: { id: runId } },
          body: { step, ...(message.trim() && { message }) },
        }),
      ),
    onSuccess: (r) => navigate(`/runs/${r.id}`),
  });
  const modelSteps = run.data?.steps.filter((s) => s.kind === 'model' && s.idx > 0) ?? [];
  const form = useFieldErrors({ error: fork.error });
  return (
    <section className="panel" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Fork</h2>
      <p className="muted small">
        Start a new run from a step of this one. The steps before it are kept as recorded, not run again; from
        it on, everything runs anew. From the start, it is a replay; an edited message is a new start, so it
        forks from the start only.
      </p>
      <form
        className="filters"
        aria-label="Fork this run"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          // The same rule as the server's: the kept steps answered the message as it was.
          const edited = message.trim() !== '' && step > 0;
          if (
            form.check(
              new Map(
                edited ? [['message', 'An edited message starts the run again: fork from the start.']] : [],
              ),
            )
          )
            fork.mutate();
        }}
      >
        <div className="field">
          <label htmlFor={form.input('step').id}>From step</label>
          <select {...form.bind('step', (v) => setStep(Number(v)))} value={step}>
            <option value={0}>the start (replay)</option>
            {modelSteps.map((s) => (
              <option key={s.idx} value={s.idx}>
                step {s.idx}: model {s.name}
              </option>
            ))}
          </select>
          <FieldError form={form} k="step" />
        </div>
        <div className="field">
          <label htmlFor={form.input('message').id}>Edited message (optional)</label>
          <input {...form.bind('message', setMessage)} value={message} size={24} />
          <FieldError form={form} k="message" />
        </div>
        <BusyButton type="submit" busy={fork.isPending} busyReason="Starting the fork…">
          Fork
        </BusyButton>
      </form>
      <FormProblems form={form} before="before forking" />
      <ErrorNote error={form.unplaced(fork.error)} />
    </section>
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function CompareWith({ runId }: { runId: string }) {
  const id = useId();
  const navigate = useNavigate();
  const run = useApiQuery(runDetail(runId));
  const [other, setOther] = useState('');
  const form = useFieldErrors();
  const parent = run.data?.parent_run_id;
  const error =
    other.trim() === ''
      ? 'Paste the id of the other run.'
      : UUID.test(other.trim())
        ? undefined
        : 'A run id (a UUID).';
  return (
    <section className="panel" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Compare with another run</h2>
      {parent ? (
        <p>
          Forked from <Link to={`/runs/${parent}`}>{parent.slice(-8)}</Link> at step{' '}
          {run.data?.forked_from_step}
          {run.data?.forked_from_step
            ? `: it kept that run's steps 0 to ${run.data.forked_from_step - 1} as recorded (with any tool result you replaced) and ran again from step ${run.data.forked_from_step}`
            : ': it ran again from the start'}
          . <Link to={`/runs/compare?a=${parent}&b=${runId}`}>Compare with it</Link>
        </p>
      ) : null}
      <form
        className="filters"
        aria-label="Compare with another run"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (form.check(new Map(error ? [['other', error]] : [])))
            navigate(`/runs/compare?a=${runId}&b=${other.trim()}`);
        }}
      >
        <div className="field">
          <label htmlFor={form.input('other').id}>Other run id</label>
          <input {...form.bind('other', setOther)} value={other} size={36} />
          <FieldError form={form} k="other" />
        </div>
        <button type="submit" className="secondary">
          Compare
        </button>
      </form>
    </section>
  );
}

/** The run's input (and output, as the expected answer) as a new item of a dataset. */
function AddToDataset({ runId }: { runId: string }) {
  const client = useQueryClient();
  const datasets = useApiQuery({ ...allDatasets(), staleTime: 10_000 });
  const [dataset, setDataset] = useState('');
  const [expected, setExpected] = useState(true);
  const add = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/v1/datasets/{id}/items/from-run', {
          params: { path: { id: dataset } },
          body: { run_id: runId, output_as_expected: expected },
        }),
      ),
    onSuccess: () => void client.invalidateQueries({ queryKey: resourceKey('datasets') }),
  });
  // The dataset is the request's path: a 404 for it, or a problem with `run_id`, is said below the form.
  const form = useFieldErrors({ error: add.error });
  if (datasets.data?.length === 0) return null;
  return (
    <section className="panel" aria-labelledby="add-to-dataset-h">
      <h2 id="add-to-dataset-h">Add to a dataset</h2>
      <form
        className="filters"
        aria-label="Add this run to a dataset"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (form.check(new Map(dataset ? [] : [['dataset', 'Choose a dataset.']]))) add.mutate();
        }}
      >
        <div className="field">
          <label htmlFor={form.input('dataset').id}>Dataset</label>
          <select {...form.bind('dataset', setDataset)} value={dataset}>
            <option value="">choose…</option>
            {datasets.data?.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name}
              </option>
            ))}
          </select>
          <FieldError form={form} k="dataset" />
        </div>
        <label>
          <input type="checkbox" checked={expected} onChange={(e) => setExpected(e.target.checked)} /> its
          output as the expected answer
        </label>
        <BusyButton type="submit" busy={add.isPending} busyReason="Adding the run…">
          Add to dataset
        </BusyButton>
      </form>
      <FormProblems form={form} before="before adding the run" />
      {add.data ? (
        <p role="status" className="ok-note">
          Added to <Link to={`/datasets/${dataset}`}>the dataset</Link>.
        </p>
      ) : null}
      <ErrorNote error={form.unplaced(add.error)} />
    </section>
  );
}
