import { createHash } from 'node:crypto';
import type { Db, Queryable } from '../../db/db.ts';
import { newId } from '../../db/ids.ts';
import type { LiveRun } from '../../eval/live/live-scoring.ts';
import type { Usage } from '../../models/types.ts';
import type { RunOptions } from '../../runtime/runs/rows.ts';
import { type IngestedStep, meaningOf, textOf } from './conventions.ts';
import type { OtlpSpan } from './spans.ts';

/**
 * Other apps' traces as runs: one run per trace, in the tenant of the key that sent it. The run is
 * the trace (its root span gives the prompt, the answer, the timings and the outcome); its steps
 * are the spans that follow a GenAI convention (conventions.ts). A trace arrives over as many
 * exports as its app's batch processor makes: each adds the steps not seen yet (a span id is one
 * step, however often it is sent) and widens the run's times until its root comes.
 *
 * Ingested runs are `completed` or `failed` from their first export: they never hold a lease, so
 * recovery and the run loop never pick one up; they are records, like a finished run.
 */

/** The model price of a step: the catalog's price table by model name (and provider, when the span says it). */
export type StepCost = (model: string, provider: string | undefined, usage: Usage) => number;

export interface IngestResult {
  /** Spans refused (no trace or span id of the right length), with why. */
  rejected: number;
  reasons: string[];
  /** Runs created or added to. */
  runs: string[];
}

/**
 * The stand-in agent id of a service's runs: the same for every trace of the app in the tenant (so
 * they group), and no agent's (an app is not an agent). A UUID of version 8 (custom) from a hash.
 */
export function serviceAgentId(tenantId: string, service: string): string {
  const h = createHash('sha256').update(`otlp\0${tenantId}\0${service}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

interface StepToWrite extends IngestedStep {
  span: OtlpSpan;
}

interface RunState {
  id: string;
  step_count: number;
  input: string;
  output: string | null;
  options: RunOptions;
}

export class TraceIngest {
  constructor(
    private readonly db: Db,
    private readonly cost: StepCost,
    /** Told of each run whose trace's root has just come (the app's run ended): online evaluators score it. */
    private readonly onRunEnd: (run: LiveRun) => void = () => {},
  ) {}

  async ingest(tenant: { id: string; name: string }, spans: OtlpSpan[]): Promise<IngestResult> {
    const result: IngestResult = { rejected: 0, reasons: [], runs: [] };
    const traces = new Map<string, OtlpSpan[]>();
    for (const s of spans) {
      if (s.traceId.length !== 32 || s.spanId.length !== 16 || /^0+$/.test(s.traceId)) {
        result.rejected++;
        if (result.reasons.length === 0)
          result.reasons.push('a span needs a 16-byte trace id and an 8-byte span id, not all zero');
        continue;
      }
      const list = traces.get(s.traceId);
      if (list) list.push(s);
      else traces.set(s.traceId, [s]);
    }
    // One transaction for the export: one commit, not one per trace. Its traces are locked in id
    // order, so two exports that share traces cannot wait on each other crosswise.
    const ordered = [...traces.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const ended: LiveRun[] = [];
    await this.db.transaction(async (tx) => {
      for (const [traceId, group] of ordered) {
        const runId = await this.trace(tx, tenant, traceId, group, ended);
        if (runId) result.runs.push(runId);
      }
    });
    // Once committed: the evaluators read nothing that could still roll back.
    for (const run of ended) this.onRunEnd(run);
    return result;
  }

  /** One trace's spans of this export: the run's row, then its new steps. */
  private async trace(
    tx: Queryable,
    tenant: { id: string; name: string },
    traceId: string,
    spans: OtlpSpan[],
    ended: LiveRun[],
  ) {
    const tenantId = tenant.id;
    const root = spans.find((s) => s.parentSpanId === '');
    const steps: StepToWrite[] = [];
    let frame: { input: unknown; output: unknown } | undefined;
    for (const s of spans) {
      const m = meaningOf(s);
      if (m?.type === 'step') steps.push({ ...m.step, span: s });
      // A root that is a model call itself (one `chat` span) gives the run its prompt and answer too.
      if (m && s === root) frame = m.type === 'frame' ? m : { input: m.step.input, output: m.step.output };
    }
    // A trace of no AI span (an app's HTTP and database spans) is no run; its root still completes one.
    if (steps.length === 0 && !frame && !root) return undefined;
    // Exports of one trace may arrive at once (several processes, a retry): they take turns.
    await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`otlp:${tenantId}:${traceId}`]);
    let run = await this.find(tx, tenantId, traceId);
    if (!run) {
      if (steps.length === 0 && !frame) return undefined;
      run = await this.create(tx, tenantId, traceId, (root ?? spans[0]!).service);
    }
    const fresh = await this.freshSteps(tx, run.id, steps);
    const rank = { retrieval: 0, model: 1, tool: 2 };
    fresh.sort((a, b) => a.span.startMs - b.span.startMs || rank[a.kind] - rank[b.kind]);
    await this.writeSteps(tx, tenantId, run.id, run.step_count, fresh);
    if (fresh.length > 0 && run.step_count > 0) await this.renumber(tx, run.id);
    const row = await this.update(tx, run, spans, root, frame, fresh);
    // The root is the app's run ending: the first export that brings it reports the run, once.
    if (root && run.options.trace_root !== true) ended.push(await this.ended(tx, tenant, row));
    return run.id;
  }

  private async find(tx: Queryable, tenantId: string, traceId: string): Promise<RunState | undefined> {
    const [row] = await tx.query<RunState>(
      `select id, step_count, input, output, options from runs
        where tenant_id = $1 and service_name is not null and options->>'trace_id' = $2`,
      [tenantId, traceId],
    );
    return row;
  }

  private async create(tx: Queryable, tenantId: string, traceId: string, service: string): Promise<RunState> {
    const id = newId();
    const sessionId = newId();
    const agentId = serviceAgentId(tenantId, service);
    const options: RunOptions = {
      streaming: false,
      max_steps: 0,
      on_disconnect: 'continue',
      trace_id: traceId,
    };
    await tx.query(
      `insert into sessions (id, tenant_id, agent_id, title, message_count) values ($1, $2, $3, $4, 0)`,
      [sessionId, tenantId, agentId, service],
    );
    await tx.query(
      `insert into runs (id, tenant_id, session_id, agent_id, status, input, options, service_name)
       values ($1, $2, $3, $4, 'completed', '', $5::jsonb, $6)`,
      [id, tenantId, sessionId, agentId, JSON.stringify(options), service],
    );
    return { id, step_count: 0, input: '', output: null, options };
  }

  /** The steps whose span the run has not recorded yet (a retried export adds nothing twice). */
  private async freshSteps(tx: Queryable, runId: string, steps: StepToWrite[]): Promise<StepToWrite[]> {
    if (steps.length === 0) return [];
    const seen = await tx.query<{ span_id: string }>(
      'select span_id from run_steps where run_id = $1 and span_id = any($2::text[])',
      [runId, steps.map((s) => s.span.spanId)],
    );
    const known = new Set(seen.map((r) => r.span_id));
    const out: StepToWrite[] = [];
    for (const s of steps) {
      if (known.has(s.span.spanId)) continue;
      known.add(s.span.spanId);
      out.push(s);
    }
    return out;
  }

  private async writeSteps(
    tx: Queryable,
    tenantId: string,
    runId: string,
    from: number,
    steps: StepToWrite[],
  ) {
    if (steps.length === 0) return;
    const rows = steps.map((s, i) => {
      const usage =
        s.kind === 'model'
          ? {
              prompt_tokens: s.promptTokens,
              completion_tokens: s.completionTokens,
              total_tokens: s.promptTokens + s.completionTokens,
            }
          : null;
      return {
        idx: from + i,
        kind: s.kind,
        name: s.name.slice(0, 200),
        tool_call_id: s.toolCallId ?? null,
        input: s.input ?? null,
        output: s.output ?? null,
        error: s.span.status.code === 2 ? s.span.status.message || `${s.span.name} failed` : null,
        usage,
        cost: usage ? this.cost(s.name, s.provider, usage) : null,
        // Kept to the microsecond: spans of one turn often start in the same millisecond, and
        // exports that race each other are put in order by this time alone.
        start_ms: s.span.startMs,
        duration_ms: Math.max(0, s.span.endMs - s.span.startMs),
        span_id: s.span.spanId,
      };
    });
    await tx.query(
      `insert into run_steps (run_id, idx, tenant_id, kind, name, tool_call_id, input, output, error, usage, cost,
                              started_at, duration_ms, span_id)
       select $1, (x->>'idx')::int, $2, x->>'kind', x->>'name', x->>'tool_call_id', x->'input', x->'output', x->>'error',
              nullif(x->'usage', 'null'::jsonb), (x->>'cost')::float8, to_timestamp((x->>'start_ms')::float8 / 1000),
              (x->>'duration_ms')::float8, x->>'span_id'
         from jsonb_array_elements($3::jsonb) as x`,
      [runId, tenantId, JSON.stringify(rows)],
    );
  }

  /**
   * Steps in the order they started, whichever export brought them (the trace view hangs a tool
   * call under the model call before it). Through negative numbers, so no two steps ever share an
   * index on the way; at the same instant a retrieval goes before a model call, a model call before a tool.
   */
  private async renumber(tx: Queryable, runId: string) {
    await tx.query(
      `update run_steps s set idx = -1 - o.n
         from (select idx, row_number() over (
                 order by started_at, case kind when 'retrieval' then 0 when 'model' then 1 else 2 end, idx) - 1 as n
                 from run_steps where run_id = $1) o
        where s.run_id = $1 and s.idx = o.idx`,
      [runId],
    );
    await tx.query('update run_steps set idx = -1 - idx where run_id = $1', [runId]);
  }

  /** What online evaluators see of the run that just ended: as the runtime reports its own runs. */
  private async ended(
    tx: Queryable,
    tenant: { id: string; name: string },
    row: UpdatedRun,
  ): Promise<LiveRun> {
    const tools = await tx.query<{ name: string; input: unknown }>(
      `select name, input from run_steps where run_id = $1 and kind = 'tool' order by idx`,
      [row.id],
    );
    return {
      tenantId: tenant.id,
      tenantName: tenant.name,
      agentId: row.agent_id,
      runId: row.id,
      input: row.input,
      output: row.output,
      status: row.status,
      toolCalls: tools.map((t) => ({ name: t.name, arguments: t.input })),
      tokens: Number(row.tokens ?? 0),
      durationMs: Math.max(0, row.completed_at.getTime() - row.started_at.getTime()),
      serviceName: row.service_name,
    };
  }

  /**
   * The run's row after this export: its steps counted and summed again from what is stored (so a
   * repeated export changes nothing), its prompt, answer, times and outcome from the root once it
   * has come, until then from the model steps and the spans seen so far.
   */
  private async update(
    tx: Queryable,
    run: RunState,
    spans: OtlpSpan[],
    root: OtlpSpan | undefined,
    frame: { input: unknown; output: unknown } | undefined,
    fresh: StepToWrite[],
  ): Promise<UpdatedRun> {
    const rootSeen = run.options.trace_root === true;
    const models = fresh.filter((s) => s.kind === 'model');
    const firstModel = models[0];
    const lastModel = models.reduce<StepToWrite | undefined>(
      (last, s) => (!last || s.span.endMs >= last.span.endMs ? s : last),
      undefined,
    );
    let input = run.input || (firstModel && textOf(firstModel.input, 'user')) || '';
    let output = rootSeen ? run.output : ((lastModel && textOf(lastModel.output, 'assistant')) ?? run.output);
    let status: 'completed' | 'failed' | null = null;
    let error: { code: string; message: string } | null = null;
    let start = Math.min(...spans.map((s) => s.startMs));
    let end = Math.max(...spans.map((s) => s.endMs));
    let times: 'widen' | 'set' | 'keep' = rootSeen ? 'keep' : 'widen';
    if (root) {
      input = textOf(frame?.input ?? root.attributes['input.value'], 'user') ?? input;
      output = textOf(frame?.output ?? root.attributes['output.value'], 'assistant') ?? output;
      status = root.status.code === 2 ? 'failed' : 'completed';
      if (status === 'failed')
        error = { code: 'span_error', message: root.status.message || `${root.name} failed` };
      start = root.startMs;
      end = root.endMs;
      times = 'set';
    }
    const options = root ? { ...run.options, trace_root: true, root_span: root.name } : run.options;
    const [row] = await tx.query<UpdatedRun>(
      `update runs r set
         input = $2, output = $3,
         status = coalesce($4, r.status), error_code = case when $4::text is null then r.error_code else $5 end,
         error_message = case when $4::text is null then r.error_message else $6 end,
         started_at = case $7 when 'set' then $8::timestamptz when 'widen' then least(coalesce(r.started_at, $8::timestamptz), $8::timestamptz) else r.started_at end,
         completed_at = case $7 when 'set' then $9::timestamptz when 'widen' then greatest(coalesce(r.completed_at, $9::timestamptz), $9::timestamptz) else r.completed_at end,
         step_count = r.step_count + $10,
         model_calls = (select count(*) from run_steps s where s.run_id = r.id and s.kind = 'model'),
         usage = (select jsonb_build_object(
                    'prompt_tokens', coalesce(sum((s.usage->>'prompt_tokens')::int), 0),
                    'completion_tokens', coalesce(sum((s.usage->>'completion_tokens')::int), 0),
                    'total_tokens', coalesce(sum((s.usage->>'total_tokens')::int), 0))
                  from run_steps s where s.run_id = r.id and s.usage is not null),
         options = $11::jsonb, updated_at = now()
       where r.id = $1
       returning id, agent_id, service_name, status, input, output, started_at, completed_at,
                 (usage->>'total_tokens')::int as tokens`,
      [
        run.id,
        input,
        output,
        status,
        error?.code ?? null,
        error?.message ?? null,
        times,
        new Date(start).toISOString(),
        new Date(end).toISOString(),
        fresh.length,
        JSON.stringify(options),
      ],
    );
    return row!;
  }
}

interface UpdatedRun {
  id: string;
  agent_id: string;
  service_name: string;
  status: string;
  input: string;
  output: string | null;
  started_at: Date;
  completed_at: Date;
  tokens: number | null;
}
