import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { BusyButton } from '../../components/BusyButton';
import { TableWrap } from '../../components/Code';
import { ErrorNote } from '../../components/ErrorNote';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
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
  const [tried, setTried] = useState(false);
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
      setTried(false);
      void client.invalidateQueries({ queryKey: runScores(runId).queryKey });
    },
  });
  const problems = new Map<string, string>();
  if (!name.trim()) problems.set('name', 'Name the score (e.g. helpfulness).');
  if (value.trim() === '' || !Number.isFinite(Number(value)))
    problems.set('value', 'A number, e.g. 1 or 0.5.');
  const shown = tried ? problems : new Map<string, string>();
  const aria = (k: string) => ({
    id: `${id}-${k}`,
    'aria-invalid': shown.has(k),
    'aria-describedby': shown.has(k) ? `${id}-${k}-error` : undefined,
  });
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
            setTried(true);
            if (problems.size === 0) add.mutate();
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
              <label htmlFor={`${id}-${k}`}>{label}</label>
              <input
                {...aria(k)}
                value={v}
                inputMode={k === 'value' ? 'decimal' : undefined}
                onChange={(e) => set(e.target.value)}
                size={k === 'comment' ? 24 : 10}
              />
              {shown.has(k) ? (
                <p id={`${id}-${k}-error`} className="field-error">
                  {shown.get(k)}
                </p>
              ) : null}
            </div>
          ))}
          <BusyButton type="submit" busy={add.isPending} busyReason="Saving the score…">
            Add score
          </BusyButton>
          <ErrorNote error={add.error} />
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
  return (
    <section className="panel" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Fork</h2>
      <p className="muted small">
        Start a new run from a step of this one, with the conversation up to it. From the start, it is a
        replay.
      </p>
      <form
        className="filters"
        aria-label="Fork this run"
        onSubmit={(e) => {
          e.preventDefault();
          fork.mutate();
        }}
      >
        <label>
          From step
          <select value={step} onChange={(e) => setStep(Number(e.target.value))}>
            <option value={0}>the start (replay)</option>
            {modelSteps.map((s) => (
              <option key={s.idx} value={s.idx}>
                step {s.idx}: model {s.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Edited message (optional)
          <input value={message} onChange={(e) => setMessage(e.target.value)} size={24} />
        </label>
        <BusyButton type="submit" busy={fork.isPending} busyReason="Starting the fork…">
          Fork
        </BusyButton>
      </form>
      <ErrorNote error={fork.error} />
    </section>
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function CompareWith({ runId }: { runId: string }) {
  const id = useId();
  const navigate = useNavigate();
  const run = useApiQuery(runDetail(runId));
  const [other, setOther] = useState('');
  const [tried, setTried] = useState(false);
  const parent = run.data?.parent_run_id;
  const error =
    other.trim() === ''
      ? 'Paste the id of the other run.'
      : UUID.test(other.trim())
        ? undefined
        : 'A run id (a UUID).';
  const shown = tried ? error : undefined;
  return (
    <section className="panel" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Compare with another run</h2>
      {parent ? (
        <p>
          Forked from <Link to={`/runs/${parent}`}>{parent.slice(-8)}</Link> at step{' '}
          {run.data?.forked_from_step}:{' '}
          <Link to={`/runs/compare?a=${parent}&b=${runId}`}>compare with it</Link>
        </p>
      ) : null}
      <form
        className="filters"
        aria-label="Compare with another run"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          setTried(true);
          if (!error) navigate(`/runs/compare?a=${runId}&b=${other.trim()}`);
        }}
      >
        <div className="field">
          <label htmlFor={`${id}-other`}>Other run id</label>
          <input
            id={`${id}-other`}
            value={other}
            onChange={(e) => setOther(e.target.value)}
            size={36}
            aria-invalid={Boolean(shown)}
            aria-describedby={shown ? `${id}-other-error` : undefined}
          />
          {shown ? (
            <p id={`${id}-other-error`} className="field-error">
              {shown}
            </p>
          ) : null}
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
  if (datasets.data?.length === 0) return null;
  return (
    <section className="panel" aria-labelledby="add-to-dataset-h">
      <h2 id="add-to-dataset-h">Add to a dataset</h2>
      <form
        className="filters"
        aria-label="Add this run to a dataset"
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate();
        }}
      >
        <label>
          Dataset
          <select value={dataset} onChange={(e) => setDataset(e.target.value)}>
            <option value="">choose…</option>
            {datasets.data?.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          <input type="checkbox" checked={expected} onChange={(e) => setExpected(e.target.checked)} /> its
          output as the expected answer
        </label>
        <BusyButton
          type="submit"
          busy={add.isPending}
          busyReason="Adding the run…"
          disabledReason={dataset ? undefined : 'Choose a dataset first'}
        >
          Add to dataset
        </BusyButton>
      </form>
      {add.data ? (
        <p role="status" className="ok-note">
          Added to <Link to={`/datasets/${dataset}`}>the dataset</Link>.
        </p>
      ) : null}
      <ErrorNote error={add.error} />
    </section>
  );
}
