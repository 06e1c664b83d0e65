import { type Viewer, visibleParam, visibleSql } from '../auth/ownership.ts';
import type { Queryable } from '../db/db.ts';
import { cursorPage } from '../db/page.ts';
import { notFound } from '../errors.ts';
import type { RunRow, StepRow } from './rows.ts';
import { toRun } from './rows.ts';
import type { ListRunsQuery, RunSummary, RunTrace, TraceSpan } from './trace-schema.ts';

/**
 * Run traces for the console and for operators without a tracing backend: a tenant's runs with
 * filters and cursor pages, and one run's step tree. Read-only; the steps are written by the run
 * store as the run goes (run-store.ts `advance`).
 */

/** Listed input is cut: a list is for finding a run, GET /v1/runs/:id has the whole of it. */
const LISTED_INPUT_CHARS = 2000;

type SummaryRow = RunRow & { agent_name: string | null; cost: number; has_error: boolean };

const summaryColumns = `r.id, r.tenant_id, r.session_id, r.agent_id, r.task_id, r.status, left(r.input, ${LISTED_INPUT_CHARS}) as input,
  r.context, r.options, r.output, r.error_code, r.error_message, r.model_calls, r.step_count, r.usage, r.pending,
  r.lease_owner, r.created_at, r.started_at, r.completed_at, r.updated_at, a.name as agent_name,
  coalesce((select sum(s.cost) from run_steps s where s.run_id = r.id), 0)::float8 as cost,
  (r.error_code is not null or exists (select 1 from run_steps e where e.run_id = r.id and e.error is not null))
    as has_error`;

export async function listRuns(
  db: Queryable,
  tenantId: string,
  q: ListRunsQuery,
  viewer?: Viewer,
): Promise<{ data: RunSummary[]; next_cursor: string | null }> {
  const rows = await db.query<SummaryRow>(
    `select ${summaryColumns}
     from runs r left join agents a on a.id = r.agent_id
     where r.tenant_id = $1
       and ($2::uuid is null or r.agent_id = $2)
       and ($3::text is null or r.status = $3)
       and ($4::timestamptz is null or r.created_at >= $4)
       and ($5::timestamptz is null or r.created_at < $5)
       and ($6::uuid is null or r.task_id = $6)
       and ($7::uuid is null or r.session_id = $7)
       and ($8::text is null or r.options->'multi_agent'->>'id' = $8)
       and ($9::uuid is null or r.id < $9)
       and ($10::boolean is null or $10 = (r.error_code is not null
             or exists (select 1 from run_steps e where e.run_id = r.id and e.error is not null)))
       and ($12::text is null or exists (select 1 from sessions vs where vs.id = r.session_id and ${visibleSql(12, 'vs.')}))
     order by r.id desc
     limit $11`,
    [
      tenantId,
      q.agent_id ?? null,
      q.status ?? null,
      q.since ?? null,
      q.until ?? null,
      q.task_id ?? null,
      q.session_id ?? null,
      q.team ?? null,
      q.cursor ?? null,
      q.has_error ?? null,
      q.limit + 1,
      visibleParam(viewer),
    ],
  );
  return cursorPage(rows, q.limit, toSummary);
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
  return { trace_id: run.trace_id, run, spans: [rootSpan(run), ...stepSpans(await steps(runId))] };
}

function toSummary(r: SummaryRow): RunSummary {
  const { pending_tool_calls: _pending, ...run } = toRun(r);
  const end = r.completed_at ?? (r.status === 'running' ? new Date() : null);
  return {
    ...run,
    agent_name: r.agent_name,
    trace_id: r.options.trace_id ?? null,
    team: r.options.multi_agent?.id ?? null,
    duration_ms: r.started_at && end ? end.getTime() - r.started_at.getTime() : null,
    cost_usd: Number(r.cost),
    has_error: r.has_error,
  };
}

function rootSpan(run: RunSummary): TraceSpan {
  return {
    id: 'run',
    parent_id: null,
    kind: 'run',
    name: run.agent_name ?? run.agent_id,
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

/** A tool call hangs under the model call that asked for it: the last model step recorded before it. */
function stepSpans(steps: StepRow[]): TraceSpan[] {
  let lastModel: string | undefined;
  return steps.map((s) => {
    const id = `step-${s.idx}`;
    const parent = s.kind === 'model' ? 'run' : (lastModel ?? 'run');
    if (s.kind === 'model') lastModel = id;
    return {
      id,
      parent_id: parent,
      kind: s.kind,
      name: s.name,
      status: s.error === null ? 'ok' : 'error',
      error: s.error,
      started_at: s.started_at.toISOString(),
      duration_ms: Number(s.duration_ms),
      model: s.kind === 'model' ? s.name : null,
      usage: s.usage,
      cost_usd: s.cost === null ? null : Number(s.cost),
      tool_call_id: s.tool_call_id,
      input: s.input,
      output: s.output,
    };
  });
}
