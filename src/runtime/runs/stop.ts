import type { Queryable } from '../../db/db.ts';
import type { RunEvent } from './events.ts';

/**
 * Ending runs from outside their executor: cancelled (by a client, or interrupted by a newer
 * message). Each writes the run's end and its stream's last events in one statement.
 */

export async function cancelActive(tx: Queryable, sessionId: string, reason: string): Promise<string[]> {
  const rows = await tx.query<{ id: string }>(
    `select id from runs where session_id = $1 and status in ('queued', 'running', 'input_required', 'interrupted') for update`,
    [sessionId],
  );
  if (rows.length === 0) return [];
  await cancelRuns(tx, 'session_id = $1', [sessionId], reason);
  return rows.map((r) => r.id);
}

export function cancelRuns(
  tx: Queryable,
  where: string,
  params: unknown[],
  reason: string,
): Promise<RunEvent[]> {
  return endRuns(tx, where, params, 'cancelled', 'cancelled', reason);
}

/** Ends a run still waiting (`input_required`) as cancelled with code `expired`. */
export function expireRun(tx: Queryable, runId: string, message: string): Promise<RunEvent[]> {
  return endRuns(tx, `id = $1 and status = 'input_required'`, [runId], 'cancelled', 'expired', message);
}

/**
 * Ends the matching active runs with `status`, and writes `error` then `session_end` to each one's
 * stream. `where` is one of the fixed conditions above, never built from input.
 */
async function endRuns(
  tx: Queryable,
  where: string,
  params: unknown[],
  status: 'cancelled',
  code: string,
  message: string,
): Promise<RunEvent[]> {
  const n = params.length;
  const rows = await tx.query<{ seq: string; type: string; data: Record<string, unknown>; at: Date }>(
    `with upd as (
       update runs set status = $${n + 1}, error_code = $${n + 2}, error_message = $${n + 3}, pending = null,
         lease_owner = null, lease_expires_at = null, completed_at = now(), updated_at = now()
       where ${where} and status in ('queued', 'running', 'input_required', 'interrupted')
       returning id, tenant_id
     )
     insert into events (tenant_id, stream_id, type, data)
     select upd.tenant_id, upd.id, k.type, k.data from upd
     cross join (values
       (1, 'error', jsonb_build_object('code', $${n + 2}::text, 'message', $${n + 3}::text)),
       (2, 'session_end', jsonb_build_object('status', $${n + 1}::text))) as k(i, type, data)
     order by upd.id, k.i
     returning seq, type, data, at`,
    [...params, status, code, message],
  );
  return rows.map((r) => ({ seq: Number(r.seq), type: r.type, data: r.data, at: r.at.toISOString() }));
}
