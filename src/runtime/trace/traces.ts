import { runVisibleSql, type Viewer, visibleParam } from '../../auth/ownership.ts';
import type { Queryable } from '../../db/db.ts';
import { cursorPage } from '../../db/page.ts';
import { notFound } from '../../errors.ts';
import type { ContextRecord } from '../loop/context.ts';
import type { RunRow, StepRow } from '../runs/rows.ts';
import { toRun } from '../runs/rows.ts';
import type { ListRunsQuery, RunSummary, RunTrace, TraceSpan } from './schema.ts';

/**
 * Run traces for the console and for operators without a tracing backend: a tenant's runs with
 * filters and cursor pages, and one run's step tree. Read-only; the steps are written by the run
 * store as the run goes (run-store.ts `advance`). Knowledge retrievals come from the context the
 * model steps record, approval waits and handoffs from the run's events: nothing more is written
 * on the way for them.
 */

/** Listed input is cut: a list is for finding a run, GET /v1/runs/:id has the whole of it. */
const LISTED_INPUT_CHARS = 2000;

type SummaryRow = RunRow & {
  agent_name: string | null;
  service_name: string | null;
  cost: number;
  has_error: boolean;
  scores: { name: string; value: number }[] | null;
};

/** Scores a listed run shows: the latest value of each name, at most this many names. */
const LISTED_SCORES = 8;

const summaryColumns = `r.id, r.tenant_id, r.session_id, r.agent_id, r.task_id, r.status, left(r.input, ${LISTED_INPUT_CHARS}) as input,
  r.context, r.options, r.output, r.error_code, r.error_message, r.model_calls, r.step_count, r.usage, r.pending,
  r.lease_owner, r.agent_version, r.member_versions, r.parent_run_id, r.forked_from_step, r.created_at, r.started_at, r.completed_at, r.updated_at, a.name as agent_name, r.service_name,
  coalesce((select sum(s.cost) from run_steps s where s.run_id = r.id), 0)::float8 as cost,
  (r.error_code is not null or exists (select 1 from run_steps e where e.run_id = r.id and e.error is not null))
    as has_error,
  (select json_agg(json_build_object('name', x.name, 'value', x.value) order by x.name)
     from (select distinct on (sc.name) sc.name, sc.value from scores sc
            where sc.run_id = r.id and sc.tenant_id = r.tenant_id order by sc.name, sc.id desc
            limit ${LISTED_SCORES}) x) as scores`;

/**
 * The filters of a run listing as one where clause and its parameters (from `$2`; `$1` is the
 * tenant), shared by the page and its total so the two cannot disagree.
 */
export function runFilters(
  q: Omit<ListRunsQuery, 'limit'>,
  viewer: Viewer | undefined,
): { where: string; params: unknown[] } {
  // `q` matches the input or the output as typed: the LIKE wildcards in it are escaped.
  const text = q.q ? `%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  return {
    where: `r.tenant_id = $1
       and ($2::uuid is null or r.agent_id = $2)
       and ($3::text is null or r.status = $3)
       and ($4::timestamptz is null or r.created_at >= $4)
       and ($5::timestamptz is null or r.created_at < $5)
       and ($6::uuid is null or r.task_id = $6)
       and ($7::uuid is null or r.session_id = $7)
       and ($8::text is null or r.options->'multi_agent'->>'id' = $8)
       and ($9::boolean is null or $9 = (r.error_code is not null
             or exists (select 1 from run_steps e where e.run_id = r.id and e.error is not null)))
       and ($10::text is null or r.input ilike $10 or r.output ilike $10)
       and ($12::text is null or exists (
             select 1 from scores sc where sc.run_id = r.id and sc.tenant_id = r.tenant_id and sc.name = $12
                and ($13::float8 is null or sc.value >= $13) and ($14::float8 is null or sc.value <= $14)))
       and (($15::float8 is null and $16::float8 is null) or (
             select coalesce(sum(c.cost), 0)::float8 from run_steps c where c.run_id = r.id)
               between coalesce($15::float8, 0) and coalesce($16::float8, 'Infinity'::float8))
       and ($17::text is null or r.service_name = $17)
       and ${runVisibleSql(11, 'r.')}`,
    params: [
      q.agent_id ?? null,
      q.status ?? null,
      q.since ?? null,
      q.until ?? null,
      q.task_id ?? null,
      q.session_id ?? null,
      q.team ?? null,
      q.has_error ?? null,
      text,
      visibleParam(viewer),
      q.score_name ?? null,
      q.score_min ?? null,
      q.score_max ?? null,
      q.min_cost ?? null,
      q.max_cost ?? null,
      q.service ?? null,
    ],
  };
}

export async function listRuns(
  db: Queryable,
  tenantId: string,
  q: ListRunsQuery,
  viewer?: Viewer,
): Promise<{ data: RunSummary[]; next_cursor: string | null; total: number }> {
  const { where, params } = runFilters(q, viewer);
  // `after` reads upwards (the runs a tail has not seen yet, oldest first); otherwise newest first.
  const [rows, [counted]] = await Promise.all([
    db.query<SummaryRow>(
      `select ${summaryColumns}
       from runs r left join agents a on a.id = r.agent_id
       where ${where}
         and ($18::uuid is null or r.id < $18)
         and ($19::uuid is null or r.id > $19)
       order by r.id ${q.after ? 'asc' : 'desc'}
       limit $20`,
      [tenantId, ...params, q.cursor ?? null, q.after ?? null, q.limit + 1],
    ),
    db.query<{ n: number }>(`select count(*)::int as n from runs r where ${where}`, [tenantId, ...params]),
  ]);
  return { ...cursorPage(rows, q.limit, toSummary), total: counted?.n ?? 0 };
}

export async function traceOfRun(
  db: Queryable,
  tenantId: string,
  runId: string,
  steps: (runId: string) => Promise<StepRow[]>,
): Promise<RunTrace> {
  const [row] = await db.query<SummaryRow>(
    `select ${summaryColumns} from runs r left join agents a on a.id = r.agent_id
     where r.id = $1 and r.tenant_id = $2`,
    [runId, tenantId],
  );
  if (!row) throw notFound('run', runId);
  const run = toSummary(row);
  const [rows, events] = await Promise.all([steps(runId), traceEvents(db, runId)]);
  const recorded = stepSpans(rows);
  const derived = [
    ...retrievalSpans(rows),
    ...approvalSpans(events, recorded, run),
    ...handoffSpans(events, run),
  ];
  return {
    trace_id: run.trace_id,
    run,
    spans: [rootSpan(run, row.options.root_span), ...merged(recorded, derived)],
  };
}

/** The events of a run that mark spans its steps do not record: approval waits and handoffs. */
const TRACE_EVENTS = ['approval_required', 'approval_granted', 'approval_denied', 'handoff', 'session_end'];

interface TraceEvent {
  type: string;
  data: Record<string, unknown>;
  at: Date;
}

function traceEvents(db: Queryable, runId: string): Promise<TraceEvent[]> {
  return db.query<TraceEvent>(
    'select type, data, at from events where stream_id = $1 and type = any($2::text[]) order by seq',
    [runId, TRACE_EVENTS],
  );
}

function toSummary(r: SummaryRow): RunSummary {
  const { pending_tool_calls: _pending, ...run } = toRun(r);
  const end = r.completed_at ?? (r.status === 'running' ? new Date() : null);
  return {
    ...run,
    agent_name: r.agent_name,
    service_name: r.service_name ?? null,
    trace_id: r.options.trace_id ?? null,
    team: r.options.multi_agent?.id ?? null,
    duration_ms: r.started_at && end ? end.getTime() - r.started_at.getTime() : null,
    cost_usd: Number(r.cost),
    has_error: r.has_error,
    scores: r.scores ?? [],
  };
}

function rootSpan(run: RunSummary, rootSpanName?: string): TraceSpan {
  return {
    id: 'run',
    parent_id: null,
    kind: 'run',
    // An ingested run's root: the app and its root span (`checkout: POST /ask`).
    name:
      run.agent_name ??
      (run.service_name ? [run.service_name, rootSpanName].filter(Boolean).join(': ') : run.agent_id),
    status: run.status === 'failed' ? 'error' : run.completed_at ? 'ok' : 'running',
    error: run.error ? `${run.error.code}: ${run.error.message}` : null,
    started_at: run.started_at,
    duration_ms: run.duration_ms,
    model: null,
    usage: run.usage,
    cost_usd: run.cost_usd,
    tool_call_id: null,
    input: run.input,
    output: run.output,
  };
}

/**
 * The derived spans among the recorded ones, each before the first step that started after it;
 * the steps keep their recorded order. Times are whole milliseconds, so a span and a step may start
 * in the same one: a handoff then goes after a tool step (the transfer that made it) and before a
 * model step (the next member's turn), any other span before the step (a retrieval feeds the model
 * call that starts with it).
 */
export function merged(steps: TraceSpan[], derived: TraceSpan[]): TraceSpan[] {
  const start = (x: TraceSpan) => (x.started_at ? Date.parse(x.started_at) : Number.POSITIVE_INFINITY);
  const pending = [...derived].sort((a, b) => start(a) - start(b));
  const goesBefore = (x: TraceSpan, step: TraceSpan) =>
    start(x) < start(step) || (start(x) === start(step) && !(x.kind === 'handoff' && step.kind === 'tool'));
  const out: TraceSpan[] = [];
  for (const step of steps) {
    while (pending.length > 0 && goesBefore(pending[0]!, step)) out.push(pending.shift()!);
    out.push(step);
  }
  return [...out, ...pending];
}

function span(
  x: Pick<TraceSpan, 'id' | 'parent_id' | 'kind' | 'name' | 'status' | 'started_at' | 'duration_ms'> &
    Partial<TraceSpan>,
): TraceSpan {
  return {
    error: null,
    model: null,
    usage: null,
    cost_usd: null,
    tool_call_id: null,
    input: null,
    output: null,
    ...x,
  };
}

/** Where a span still open ends: now while the run goes on, at its end once it is over. */
function openEnd(run: RunSummary): number {
  return run.completed_at ? Date.parse(run.completed_at) : Date.now();
}

/**
 * Knowledge retrievals, from the context the model steps record (context.ts `assemble`): one per
 * assembly (each model step of it carries the same record), before the model calls it fed.
 */
function retrievalSpans(steps: StepRow[]): TraceSpan[] {
  const seen = new Set<string>();
  const spans: TraceSpan[] = [];
  for (const s of steps) {
    if (s.kind !== 'model') continue;
    const r = (s.input as { context?: ContextRecord } | null)?.context?.retrieval;
    if (!r?.started_at || seen.has(r.started_at)) continue;
    seen.add(r.started_at);
    spans.push(
      span({
        id: `retrieval-${spans.length}`,
        parent_id: 'run',
        kind: 'retrieval',
        name: r.knowledge_bases.map((k) => k.name).join(', '),
        status: 'ok',
        started_at: r.started_at,
        duration_ms: r.duration_ms ?? null,
        input: { query: r.query, knowledge_bases: r.knowledge_bases.map((k) => k.name) },
        output: { mode: r.mode, chunks: r.chunks.length },
      }),
    );
  }
  return spans;
}

/**
 * Approval waits, from the run's events: from `approval_required` (the pause) to the decision
 * (`approval_granted`, or `approval_denied`: an error with the reason), under the model call that
 * asked for the tools. One not decided is running while the run waits, an error once it ended.
 */
function approvalSpans(events: TraceEvent[], steps: TraceSpan[], run: RunSummary): TraceSpan[] {
  const spans: TraceSpan[] = [];
  let open: { at: Date; calls: { id?: string; name?: string }[] } | undefined;
  const close = (status: TraceSpan['status'], end: number, error: string | null, output: unknown) => {
    if (!open) return;
    const started = open.at.getTime();
    const asker = steps.filter((s) => s.kind === 'model' && Date.parse(s.started_at ?? '') <= started).at(-1);
    spans.push(
      span({
        id: `approval-${spans.length}`,
        parent_id: asker?.id ?? 'run',
        kind: 'approval',
        name: open.calls.map((c) => c.name ?? '?').join(', '),
        status,
        error,
        started_at: open.at.toISOString(),
        duration_ms: Math.max(0, end - started),
        tool_call_id: open.calls.length === 1 ? (open.calls[0]!.id ?? null) : null,
        input: { tool_calls: open.calls.map((c) => ({ id: c.id, name: c.name })) },
        output,
      }),
    );
    open = undefined;
  };
  for (const e of events) {
    if (e.type === 'approval_required') {
      open = { at: new Date(e.at), calls: (e.data.tool_calls as { id?: string; name?: string }[]) ?? [] };
    } else if (e.type === 'approval_granted') {
      close('ok', new Date(e.at).getTime(), null, { approved: true });
    } else if (e.type === 'approval_denied') {
      const reason = typeof e.data.reason === 'string' ? e.data.reason : null;
      close('error', new Date(e.at).getTime(), `denied${reason ? `: ${reason}` : ''}`, {
        approved: false,
        reason,
      });
    } else if (e.type === 'session_end') {
      close('error', new Date(e.at).getTime(), `not decided: the run ended ${String(e.data.status)}`, null);
    }
  }
  if (open) close('running', openEnd(run), null, null);
  return spans;
}

/**
 * A swarm's handoffs, from its `handoff` events: `from → to`, from the handoff to the next one (or
 * the end of the run), the receiving member's turn.
 */
function handoffSpans(events: TraceEvent[], run: RunSummary): TraceSpan[] {
  const handoffs = events.filter((e) => e.type === 'handoff');
  const end = events.find((e) => e.type === 'session_end');
  return handoffs.map((e, n) => {
    const next = handoffs[n + 1] ?? end;
    const started = new Date(e.at).getTime();
    const failed = !handoffs[n + 1] && run.status === 'failed';
    return span({
      id: `handoff-${n}`,
      parent_id: 'run',
      kind: 'handoff',
      name: `${String(e.data.from)} → ${String(e.data.to)}`,
      status: next ? (failed ? 'error' : 'ok') : 'running',
      error: failed && run.error ? `${run.error.code}: ${run.error.message}` : null,
      started_at: new Date(e.at).toISOString(),
      duration_ms: Math.max(0, (next ? new Date(next.at).getTime() : openEnd(run)) - started),
      input: { from: e.data.from, to: e.data.to, handoffs: e.data.handoffs },
      output: e.data.truncated ? { truncated: true, dropped_messages: e.data.dropped_messages } : null,
    });
  });
}

/** A tool call hangs under the model call that asked for it: the last model step recorded before it. */
function stepSpans(steps: StepRow[]): TraceSpan[] {
  let lastModel: string | undefined;
  return steps.map((step) => {
    const id = `step-${step.idx}`;
    // A retrieval (an ingested trace's retriever span) feeds the model call after it: under the run.
    const parent = step.kind === 'tool' ? (lastModel ?? 'run') : 'run';
    if (step.kind === 'model') lastModel = id;
    return {
      id,
      parent_id: parent,
      kind: step.kind,
      name: step.name,
      status: step.error === null ? 'ok' : 'error',
      error: step.error,
      started_at: step.started_at.toISOString(),
      duration_ms: Number(step.duration_ms),
      model: step.kind === 'model' ? step.name : null,
      usage: step.usage,
      cost_usd: step.cost === null ? null : Number(step.cost),
      tool_call_id: step.tool_call_id,
      input: step.input,
      output: step.output,
    };
  });
}
