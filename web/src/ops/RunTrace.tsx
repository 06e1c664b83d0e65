import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { ErrorNote } from '../components/ErrorNote';
import { Code } from './Code';
import { duration, pretty, usd, when } from './format';
import { InterruptedRun } from './InterruptedRun';
import { StatusBadge } from './StatusBadge';

import { traceQuery } from './trace-query';

type Trace = Awaited<ReturnType<ReturnType<typeof traceQuery>['queryFn']>>;
type Span = Trace['spans'][number];

/** What a span's kind is called on screen; kinds not listed show as they come. */
const KIND_LABELS: Record<string, string> = {
  retrieval: 'knowledge retrieval',
  approval: 'approval wait',
  handoff: 'handoff',
};
const kindLabel = (kind: string) => KIND_LABELS[kind] ?? kind;

/** Bar colours by kind (ops.css `bar-<kind>`); other kinds get the default colour. */
const COLOURED = new Set(['model', 'tool', 'retrieval', 'approval', 'handoff']);

/** The trace clinic: a run's steps as a waterfall; a failed run opens on its failing step. */
export function RunTrace() {
  const { id = '' } = useParams();
  const trace = useQuery({
    ...traceQuery(id),
    // A run still going is followed until it ends.
    refetchInterval: (q) =>
      q.state.data && ['queued', 'running'].includes(q.state.data.run.status) ? 1500 : false,
  });
  if (trace.error) return <ErrorNote error={trace.error} />;
  if (!trace.data) return <p className="muted">Loading…</p>;
  return <Waterfall trace={trace.data} />;
}

function Waterfall({ trace }: { trace: Trace }) {
  const { run, spans } = trace;
  const steps = spans.filter((s) => s.id !== 'run');
  const failing = steps.find((s) => s.status === 'error');
  const [picked, setPicked] = useState<string | undefined>(undefined);
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

  return (
    <section>
      <p>
        <Link to="/runs">← Runs</Link>
      </p>
      <div className="page-head">
        <h1>Run {run.id.slice(-8)}</h1>
        <StatusBadge status={run.status} />
      </div>
      <dl className="facts">
        <dt>Agent</dt>
        <dd>{run.agent_name ?? run.agent_id}</dd>
        <dt>Started</dt>
        <dd>{when(run.started_at)}</dd>
        <dt>Duration</dt>
        <dd>{duration(run.duration_ms)}</dd>
        <dt>Tokens · cost</dt>
        <dd>
          {run.usage.total_tokens} · {usd(run.cost_usd)}
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
              <code>{trace.trace_id}</code>
            </dd>
          </>
        ) : null}
      </dl>
      {run.status === 'interrupted' ? (
        <InterruptedRun runId={run.id} message={run.error?.message ?? 'interrupted during a tool call'} />
      ) : run.error ? (
        <div className="error" role="status">
          Run failed: {run.error.code}: {run.error.message}
        </div>
      ) : null}
      <div className="split">
        <div>
          <h2>
            Steps <span className="muted">({steps.length})</span>
          </h2>
          <ol className="waterfall" aria-label="Waterfall">
            {steps.map((s) => (
              <StepBar
                key={s.id}
                span={s}
                depth={depth.get(s.id) ?? 1}
                left={s.started_at ? ((Date.parse(s.started_at) - start) / total) * 100 : 0}
                width={((s.duration_ms ?? 0) / total) * 100}
                current={s.id === selected?.id}
                onPick={() => setPicked(s.id)}
              />
            ))}
          </ol>
          {steps.length === 0 ? <p className="muted">This run recorded no steps.</p> : null}
        </div>
        <div>{selected ? <StepDetail span={selected} /> : null}</div>
      </div>
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
        onClick={p.onPick}
        title={`${kindLabel(s.kind)} ${s.name}: ${duration(s.duration_ms)}`}
      >
        <span className="label" style={{ paddingLeft: `${(p.depth - 1) * 0.75}rem` }}>
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

function StepDetail({ span: s }: { span: Span }) {
  return (
    <section aria-label="Step detail" className="panel">
      <h2>
        {kindLabel(s.kind)}: {s.name} <StatusBadge status={s.status} />
      </h2>
      <dl className="facts">
        <dt>Started</dt>
        <dd>{when(s.started_at)}</dd>
        <dt>Duration</dt>
        <dd>{duration(s.duration_ms)}</dd>
        {s.model ? (
          <>
            <dt>Model</dt>
            <dd>{s.model}</dd>
          </>
        ) : null}
        {s.usage ? (
          <>
            <dt>Tokens</dt>
            <dd>
              {s.usage.prompt_tokens} in · {s.usage.completion_tokens} out
            </dd>
          </>
        ) : null}
        {s.cost_usd !== null ? (
          <>
            <dt>Cost</dt>
            <dd>{usd(s.cost_usd)}</dd>
          </>
        ) : null}
      </dl>
      {s.error ? (
        <>
          <h3>Error</h3>
          <Code label="Error" className="error-text">
            {s.error}
          </Code>
        </>
      ) : null}
      <h3>Input</h3>
      <Code label="Input">{s.input === undefined || s.input === null ? '—' : pretty(s.input)}</Code>
      <h3>Output</h3>
      <Code label="Output">{s.output === undefined || s.output === null ? '—' : pretty(s.output)}</Code>
    </section>
  );
}
