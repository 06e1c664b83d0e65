import { plainArray } from '../db/arrays.ts';
import { iso } from '../db/iso.ts';
import type { Task, TaskStatus } from './schema.ts';

/** A `tasks` row as the drivers return it (timestamps as Date). */
export interface TaskRow {
  id: string;
  tenant_id: string;
  agent_id: string;
  agent_version: number | null;
  task_type: string;
  status: TaskStatus;
  priority: number;
  title: string;
  description: string;
  payload: unknown;
  result: unknown;
  result_summary: string | null;
  error_message: string | null;
  attempts: number;
  max_attempts: number;
  run_at: Date;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  idempotency_key: string | null;
  callback_url: string | null;
  callback_attempts: number;
  callback_status: string | null;
  parent_task_id: string | null;
  session_id: string | null;
  created_by: string | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  updated_at: Date;
  /** The external worker that runs it (reporting by callback); null: Agentry's workers. */
  external: string | null;
  /** Its task type's `retention: delete`: the row goes when the task succeeds (migration 0079). */
  delete_on_success?: boolean;
  /** The enqueuing request's W3C trace context (where the statement returns it). */
  traceparent?: string | null;
  tracestate?: string | null;
}

export const toTask = ({ delete_on_success, ...r }: TaskRow): Task => ({
  ...r,
  retention: delete_on_success ? 'delete' : 'keep',
  agent_version: r.agent_version ?? null,
  external: r.external ?? null,
  result: r.result ?? null,
  run_at: r.run_at.toISOString(),
  lease_expires_at: iso(r.lease_expires_at),
  created_at: r.created_at.toISOString(),
  started_at: iso(r.started_at),
  completed_at: iso(r.completed_at),
  updated_at: r.updated_at.toISOString(),
});

/**
 * What a claim hands a worker: only the columns a handler needs, to keep the hot path's rows narrow.
 * `attempt` identifies the attempt: every later write for it checks owner and attempt together, so
 * the late result of a worker that lost its lease never overwrites a newer attempt.
 */
export interface ClaimedTask {
  id: string;
  tenant_id: string;
  agent_id: string;
  task_type: string;
  title: string;
  description: string;
  payload: unknown;
  attempt: number;
  max_attempts: number;
  session_id: string | null;
  parent_task_id: string | null;
  /** The enqueuing request's trace context (W3C), when it had one. */
  traceparent: string | null;
  /** Its `tracestate`, passed on with the trace. */
  tracestate: string | null;
  /** Seconds from its run_at to this claim, by the store's clock. */
  waited_seconds: number;
  /** Its task type's `retention: delete`: a success deletes the row (`completeTasks`). */
  delete_on_success: boolean;
}

/** An attempt a worker holds: the task's key (tenant and id) and the attempt its lease is for. */
export type HeldAttempt = Pick<ClaimedTask, 'tenant_id' | 'id' | 'attempt'>;

/**
 * The keys of held attempts as three array parameters (tenants, ids, attempts), for the batch
 * statements that match a worker's leases (`unnest($n::uuid[], $n+1::uuid[], $n+2::int[])`).
 */
export function heldKeys(held: readonly HeldAttempt[]): [tenants: string, ids: string, attempts: string] {
  return [
    plainArray(held.map((h) => h.tenant_id)),
    plainArray(held.map((h) => h.id)),
    plainArray(held.map((h) => h.attempt)),
  ];
}
