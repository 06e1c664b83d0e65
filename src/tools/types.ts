import type { Workspace } from './workspace.ts';

/** JSON Schema of a tool's arguments (an object schema), as offered to the model. */
export type JsonSchema = Record<string, unknown>;

/** What a tool call can see of the run it belongs to. */
export interface ToolContext {
  /** Aborts when the run is cancelled or the tool's time limit passes. */
  signal: AbortSignal;
  tenantId: string;
  sessionId: string;
  runId: string;
  /** The session's directory: the only place file tools may touch. */
  workspace: Workspace;
  /**
   * This tool call's key for de-duplicating side effects. A task runs at least once: a worker that
   * dies mid-task has the task run again, and the re-run reaches the same call under the same key
   * (the task's key, the model turn and the call's place in it), so a tool that sends, pays or
   * writes elsewhere can pass it on (an `Idempotency-Key` header) or record it and skip a repeat.
   */
  idempotencyKey: string;
  /** This call's W3C trace context (its `execute_tool` span), for a tool that calls a server. */
  trace?: { traceparent: string; tracestate?: string };
}

export interface ToolDefinition<A = Record<string, unknown>> {
  /** What the model calls it: letters, digits, `_` and `-`, at most 64 (the providers' rule). */
  name: string;
  description: string;
  /** Arguments are validated against this before the handler runs. */
  parameters: JsonSchema;
  /** COLLABORATIVE agents pause for a human's approval before calling it. */
  requires_approval?: boolean;
  /**
   * Running it twice with the same arguments does no more than running it once (read-only tools
   * are). A call in flight when its run's process died is run again by the process that takes the
   * run over only when this is set; otherwise the run stops as `interrupted` for a person to decide.
   */
  idempotent?: boolean;
  /** Overrides the configured tool time limit. */
  timeout_ms?: number;
  /** Returns the result the model sees (a string as is, anything else as JSON). */
  handler(args: A, ctx: ToolContext): Promise<unknown>;
}

/**
 * A failure meant for the model: its message becomes the tool result, so the model can correct
 * itself (bad path, unknown time zone, missing text to edit). Anything else thrown by a handler is
 * reported to the model as an internal tool error, without its details.
 */
export class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolError';
  }
}

/** The outcome of one tool call: `output` on success, `error` (a message for the model) otherwise. */
export type ToolOutcome = { ok: true; output: unknown } | { ok: false; error: string };
