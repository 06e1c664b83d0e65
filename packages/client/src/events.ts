import type { paths } from './openapi.js';

/**
 * The events of a run's stream, as the chat route and `GET /v1/runs/{id}/stream` send them (the
 * OpenAPI document cannot describe Server-Sent Events, so they are written out here; the server
 * emits them in src/runtime). Every event carries `id`, the log position a stream resumes after,
 * and `at`, when it was written. A newer server may send types not listed here: they are passed on
 * as they come.
 */

type Usage = { prompt_tokens: number; completion_tokens: number; total_tokens: number };
type ToolCall = { id: string; name: string; arguments: unknown };
/** A run's status, as `GET /v1/runs/{id}` reports it. */
type RunStatus = paths['/v1/runs/{id}']['get']['responses'][200]['content']['application/json']['status'];

interface Base {
  /** The event's position in the run's log: `Last-Event-ID` to resume after it. */
  id: number;
  at: string;
}

export type RunEvent = Base &
  (
    | { type: 'session_start'; session_id: string; run_id: string; agent_id: string; status: RunStatus }
    | {
        type: 'system';
        agent_id: string;
        agent: string;
        model: string;
        mode: string;
        tools: string[];
        unknown_tools?: string[];
      }
    | { type: 'text'; delta: string }
    | ({ type: 'tool_call' } & ToolCall)
    | { type: 'tool_result'; id: string; name: string; output?: unknown; error?: string; duration_ms: number }
    | { type: 'approval_required'; tool_calls: ToolCall[] }
    | { type: 'approval_granted'; tool_calls: string[] }
    | { type: 'approval_denied'; tool_calls: string[]; reason?: string }
    | {
        type: 'handoff';
        from: string;
        to: string;
        from_id: string;
        to_id: string;
        handoffs: number;
        truncated?: boolean;
        dropped_messages?: number;
      }
    | { type: 'node_start'; agent: string; node_id: string; inputs: string[] }
    | {
        type: 'node_end';
        agent: string;
        node_id: string;
        status: 'completed' | 'failed' | 'skipped';
        output?: string;
        error?: string;
        reason?: string;
      }
    | {
        type: 'result';
        text: string;
        usage: Usage;
        duration_ms: number;
        model_calls: number;
        tool_calls: number;
        playbook?: { status: string; document_id: string };
      }
    | { type: 'error'; code: string; message: string; [detail: string]: unknown }
    | { type: 'session_end'; status: 'completed' | 'failed' | 'cancelled' }
  );

export type RunEventType = RunEvent['type'];
