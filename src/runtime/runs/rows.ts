import { iso } from '../../db/iso.ts';
import type { ChatMessage, ResponseFormat, ToolCall, ToolSpec, Usage } from '../../models/types.ts';
import { boundDepth } from '../../text/bound-depth.ts';
import type { Run, RunStatus, Step, ToolCallRecord } from '../schema.ts';

/** Rows as stored (snake_case, Date objects), kept apart from the API types. */
export interface RunRow {
  id: string;
  tenant_id: string;
  session_id: string;
  agent_id: string;
  task_id: string | null;
  status: RunStatus;
  input: string;
  context: Record<string, unknown>;
  options: RunOptions;
  output: string | null;
  error_code: string | null;
  error_message: string | null;
  model_calls: number;
  step_count: number;
  usage: Usage;
  pending: ToolCall[] | null;
  lease_owner: string | null;
  /** The version of the agent the run runs (null: a run from before versions were kept). */
  agent_version: number | null;
  /** A team's run: the version each member ran, by agent id. */
  member_versions: Record<string, number> | null;
  /** A fork: the run it was forked from, and the step it starts at. */
  parent_run_id: string | null;
  forked_from_step: number | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  updated_at: Date;
}

/** Run settings fixed when the run is created. */
export interface RunOptions {
  streaming: boolean;
  max_steps: number;
  on_disconnect: 'continue' | 'cancel';
  /** A multi-agent run: the spec it runs and, when the request named one, the entry agent. */
  multi_agent?: { id: string; entry_agent_id?: string };
  /** A task's run: the task's idempotency key, which its tool calls' keys derive from (kept across takeovers). */
  idempotency_key?: string;
  /** The W3C trace the run belongs to (the request's that started it), for GET /v1/runs/:id/trace. */
  trace_id?: string;
  /** The caller holds a warm sandbox for the run already (an isA pool instance): a cloud_pool run takes no second one. */
  held_sandbox?: boolean;
  /** The run asked for its agent's version (`agent_version`, `name@3`) rather than the latest. */
  pinned?: boolean;
  /** A fork's model instead of its agent's (POST /v1/runs/:id/fork `model`). */
  model?: string;
  /** The request's structured output, in place of the agent's (null: free text). */
  response_format?: ResponseFormat | null;
  /**
   * Tools the caller sent with an agent model's request (agent-models.ts): offered beside the
   * agent's own; a call to one pauses the run until the caller's next request brings its result.
   */
  caller_tools?: ToolSpec[];
  /** An ingested trace's run (doors/otlp): its root span has come, and that span's name. */
  trace_root?: boolean;
  root_span?: string;
}

/** What a run's tool-call keys derive from: its task's key, else the run itself. */
export const runIdempotencyKey = (runId: string, options: Pick<RunOptions, 'idempotency_key'>): string =>
  options.idempotency_key ?? `run:${runId}`;

export interface StepRow {
  idx: number;
  /** `retrieval`: a retriever's span of an ingested trace (doors/otlp); the run loop records the other two. */
  kind: 'model' | 'tool' | 'retrieval';
  name: string;
  tool_call_id: string | null;
  input: unknown;
  output: unknown;
  error: string | null;
  usage: Usage | null;
  /** A model step's price by the catalog, in USD. */
  cost: number | null;
  started_at: Date;
  duration_ms: number;
}

/** A message to append to a session. */
export interface NewMessage {
  role: ChatMessage['role'];
  content: string | null;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  tokens: number;
}

/** A step to record on a run. */
export interface NewStep {
  kind: 'model' | 'tool';
  name: string;
  tool_call_id?: string;
  input: unknown;
  output?: unknown;
  error?: string;
  usage?: Usage;
  cost?: number;
  started_at: string;
  duration_ms: number;
  /** A tool result recorded apart from its round: what the model sees (reused by a takeover). */
  result?: string;
}

/**
 * A model's tool-call arguments as a value to record: parsed JSON, cut at `producedJsonMaxDepth`
 * (nesting a model chose must not fail the run where it is serialized), or the raw text.
 */
export function parseArguments(raw: string): unknown {
  try {
    return boundDepth(JSON.parse(raw));
  } catch {
    return raw;
  }
}

export const toRecord = (c: ToolCall): ToolCallRecord => ({
  id: c.id,
  name: c.function.name,
  arguments: parseArguments(c.function.arguments),
});

export function toRun(r: RunRow): Run {
  return {
    id: r.id,
    session_id: r.session_id,
    agent_id: r.agent_id,
    task_id: r.task_id,
    status: r.status,
    input: r.input,
    context: r.context,
    output: r.output,
    error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
    model_calls: r.model_calls,
    usage: r.usage,
    // `?? null`: some readers (A2A's task list) select only the columns they show.
    agent_version: r.agent_version ?? null,
    member_versions: r.member_versions ?? null,
    parent_run_id: r.parent_run_id ?? null,
    forked_from_step: r.forked_from_step ?? null,
    pending_tool_calls:
      (r.status === 'input_required' || r.status === 'interrupted') && r.pending
        ? r.pending.map(toRecord)
        : null,
    created_at: r.created_at.toISOString(),
    started_at: iso(r.started_at),
    completed_at: iso(r.completed_at),
    updated_at: r.updated_at.toISOString(),
  };
}

export const toStep = ({ cost: _cost, ...s }: StepRow): Step => ({
  ...s,
  started_at: s.started_at.toISOString(),
  duration_ms: Number(s.duration_ms),
});
