import { useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import { CopyButton } from '../../components/CopyButton';
import { LoadError } from '../../components/NotFound';
import { StatusBadge } from '../../components/StatusBadge';
import { duration, num, usd, when } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { AppBadge } from './AppBadge';
import { Conversation } from './Conversation';
import { InterruptedRun } from './InterruptedRun';
import { runTrace, type Trace } from './queries';
import { RunTools } from './RunTools';
import { kindLabel, StepDetail } from './StepDetail';

type Span = Trace['spans'][number];

/** Bar colours by kind (runs.css `bar-<kind>`); other kinds get the default colour. */
const COLOURED = new Set(['model', 'tool', 'retrieval', 'approval', 'handoff']);

/** Where the time axis is marked, as fractions of the run. */
const TICKS = [0, 0.25, 0.5, 0.75, 1];

/** Keys that move between steps in the waterfall, and where each goes from step `i` of `n`. */
const MOVES: Record<string, (i: number, n: number) => number> = {
  ArrowDown: (i, n) => Math.min(i + 1, n - 1),
  j: (i, n) => Math.min(i + 1, n - 1),
  ArrowUp: (i) => Math.max(i - 1, 0),
  k: (i) => Math.max(i - 1, 0),
  Home: () => 0,
  End: (_i, n) => n - 1,
};

/** The trace clinic: a run's steps as a waterfall; a failed run opens on its failing step. */
export function RunTrace() {
  const { id = '' } = useParams();
  const trace = useApiQuery({
    ...runTrace(id),
    // A run still going is followed until it ends.
    refetchInterval: (q) =>
      q.state.data && ['queued', 'running'].includes(q.state.data.run.status) ? 1500 : false,
  });
  if (trace.error) return <LoadError error={trace.error} what="run" back={{ to: '/runs', label: 'Runs' }} />;
  if (!trace.data) return <p className="muted">Loading…</p>;
  return <Waterfall trace={trace.data} />;
}

function Waterfall({ trace }: { trace: Trace }) {
  const { run, spans } = trace;
  const steps = spans.filter((s) => s.id !== 'run');
  const failing = steps.find((s) => s.status === 'error');
  const [picked, setPicked] = useState<string | undefined>(undefined);
  const [view, setView] = useState<'conversation' | 'waterfall'>('waterfall');
  const list = useRef<HTMLOListElement>(null);
  const selected = steps.find((s) => s.id === picked) ?? failing ?? steps[0];
  const start = Math.min(
    ...spans.map((s) => (s.started_at ? Date.parse(s.started_at) : Number.POSITIVE_INFINITY)),
  );
  const end = Math.max(
    ...spans.map((s) => (s.started_at ? Date.parse(s.started_at) + (s.duration_ms ?? 0) : 0)),
    start + 1,
  );
  const total = end - start;
  const depth = new Map<string, number>();
  for (const s of spans) depth.set(s.id, s.parent_id ? (depth.get(s.parent_id) ?? 0) + 1 : 0);

  const pick = (id: string, focus = false) => {
    setPicked(id);
    setView('waterfall');
    if (focus) {
      const at = steps.findIndex((s) => s.id === id);
      // After the render that marks it current.
      requestAnimationFrame(() => list.current?.querySelectorAll('button')[at]?.focus());
    }
  };
  const onKey = (e: React.KeyboardEvent) => {
    const move = MOVES[e.key];
    if (!move || steps.length === 0 || e.altKey || e.ctrlKey || e.metaKey) return;
    e.preventDefault();
    const at = Math.max(
      0,
      steps.findIndex((s) => s.id === selected?.id),
    );
    pick(steps[move(at, steps.length)]!.id, true);
  };

  return (
    <section>
      <p>
        <Link to="/runs">← Runs</Link>
      </p>
      <div className="page-head">
        <h1>Run {run.id.slice(-8)}</h1>
        <CopyButton text={run.id} label="Copy the run id" />
        <StatusBadge status={run.status} />
        {run.service_name === null ? (
          <Link
            className="button secondary"
            to={`/playground?agent=${run.agent_id}&session=${run.session_id}`}
          >
            Open in Playground
          </Link>
        ) : null}
      </div>
      <dl className="facts">
        {run.service_name === null ? (
          <>
            <dt>Agent</dt>
            <dd>{run.agent_name ?? run.agent_id}</dd>
          </>
        ) : (
          <>
            <dt>App</dt>
            <dd>
              <AppBadge service={run.service_name} />{' '}
              <span className="muted">ingested from its OpenTelemetry trace</span>
            </dd>
          </>
        )}
        <dt>Started</dt>
        <dd>{when(run.started_at)}</dd>
        <dt>Duration</dt>
        <dd>{duration(run.duration_ms)}</dd>
        <dt>Tokens · cost</dt>
        <dd>
          {num(run.usage.total_tokens)} · {usd(run.cost_usd)}
        </dd>
        {run.task_id ? (
          <>
            <dt>Task</dt>
            <dd>
              <Link to={`/tasks/${run.task_id}`}>{run.task_id.slice(-8)}</Link>
            </dd>
          </>
        ) : null}
        {trace.trace_id ? (
          <>
            <dt>Trace id</dt>
            <dd>
              <code>{trace.trace_id}</code> <CopyButton text={trace.trace_id} label="Copy the trace id" />
            </dd>
          </>
        ) : null}
        <dt>Input</dt>
        <dd className="prewrap clamp">{run.input}</dd>
        <dt>Output</dt>
        <dd className="prewrap clamp">{run.output ?? '—'}</dd>
      </dl>
      {run.status === 'interrupted' ? (
        <InterruptedRun runId={run.id} message={run.error?.message ?? 'interrupted during a tool call'} />
      ) : run.error ? (
        <div className="error" role="status">
          Run failed: {run.error.code}: {run.error.message}
        </div>
      ) : null}
      <fieldset className="toggle view-toggle">
        <legend className="sr-only">Show the run as</legend>
        {(['waterfall', 'conversation'] as const).map((v) => (
          <button
            key={v}
            type="button"
            className="secondary"
            aria-pressed={view === v}
            onClick={() => setView(v)}
          >
            {v === 'waterfall' ? 'Steps' : 'Conversation'}
          </button>
        ))}
      </fieldset>
      {view === 'conversation' ? (
        <Conversation trace={trace} onPick={(id) => pick(id, true)} />
      ) : (
        <div className="split">
          <div>
            <h2>
              Steps <span className="muted">({num(steps.length)})</span>
            </h2>
            <p className="muted small">↑ ↓ (or j k) move between steps.</p>
            <div className="axis" aria-hidden="true">
              <span />
              <span className="ticks">
                {TICKS.map((t) => (
                  <span key={t} style={{ left: `${t * 100}%` }}>
                    {duration(t * total)}
                  </span>
                ))}
              </span>
            </div>
            <ol className="waterfall" aria-label="Waterfall" ref={list} onKeyDown={onKey}>
              {steps.map((s) => (
                <StepBar
                  key={s.id}
                  span={s}
                  depth={depth.get(s.id) ?? 1}
                  left={s.started_at ? ((Date.parse(s.started_at) - start) / total) * 100 : 0}
                  width={((s.duration_ms ?? 0) / total) * 100}
                  current={s.id === selected?.id}
                  onPick={() => pick(s.id)}
                />
              ))}
            </ol>
            {steps.length === 0 ? <p className="muted">This run recorded no steps.</p> : null}
          </div>
          <div>{selected ? <StepDetail span={selected} version={run.agent_version} /> : null}</div>
        </div>
      )}
      <RunTools runId={run.id} />
    </section>
  );
}

function StepBar(p: {
  span: Span;
  depth: number;
  left: number;
  width: number;
  current: boolean;
  onPick: () => void;
}) {
  const s = p.span;
  const state = s.status !== 'ok' ? s.status : COLOURED.has(s.kind) ? s.kind : 'other';
  return (
    <li>
      <button
        type="button"
        aria-current={p.current}
        tabIndex={p.current ? 0 : -1}
        onClick={p.onPick}
        title={`${kindLabel(s.kind)} ${s.name}: ${duration(s.duration_ms)}`}
      >
        <span className="label" style={{ paddingLeft: `${(p.depth - 1) * 0.75}rem` }}>
          {p.depth > 1 ? <span aria-hidden="true">└ </span> : null}
          {s.status === 'error' ? '✗ ' : ''}
          {kindLabel(s.kind)} · {s.name}
        </span>
        <span className="track" aria-hidden="true">
          <span className={`bar bar-${state}`} style={{ left: `${p.left}%`, width: `${p.width}%` }} />
        </span>
      </button>
    </li>
  );
}
