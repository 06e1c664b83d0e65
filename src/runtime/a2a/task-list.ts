import { type ListTasksRequest, type ListTasksResponse, TaskState } from '@a2a-js/sdk';
import { RequestMalformedError } from '@a2a-js/sdk/errors';
import type { Viewer } from '../../auth/ownership.ts';
import type { Db } from '../../db/db.ts';
import { type RunRow, toRun } from '../runs/rows.ts';
import type { RunStatus } from '../schema.ts';
import { taskOfRuns, taskRuns } from './task-runs.ts';

/**
 * `ListTasks` (A2A 1.0 §3.1.4, `tasks/list` in 0.3): one agent's tasks (task-runs.ts) in the caller's
 * tenant, newest change first, without another user's private sessions. Filters: context (session),
 * state, changed after a time (a task of several runs: its state and last change, task-runs.ts).
 * Pages of `pageSize` (1–100, 50 by default) with an opaque token;
 * history cut to `historyLength`; artifacts only with `includeArtifacts`. A bad argument is -32602.
 */

const defaultPageSize = 50;
const maxPageSize = 100;

/** The run statuses each task state stands for (the inverse of task-map.ts's mapping). */
const statusesOf: Partial<Record<TaskState, RunStatus[]>> = {
  [TaskState.TASK_STATE_SUBMITTED]: ['queued'],
  [TaskState.TASK_STATE_WORKING]: ['running'],
  [TaskState.TASK_STATE_INPUT_REQUIRED]: ['input_required', 'interrupted'],
  [TaskState.TASK_STATE_COMPLETED]: ['completed'],
  [TaskState.TASK_STATE_FAILED]: ['failed'],
  [TaskState.TASK_STATE_CANCELED]: ['cancelled'],
  // No run is ever rejected or waiting for authentication: these states list nothing.
  [TaskState.TASK_STATE_REJECTED]: [],
  [TaskState.TASK_STATE_AUTH_REQUIRED]: [],
};

const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const bad = (message: string) => new RequestMalformedError(message);

const tokenOf = (offset: number) => Buffer.from(`o:${offset}`).toString('base64url');

function offsetOf(token: string): number {
  if (!token) return 0;
  const m = /^o:(\d{1,9})$/.exec(Buffer.from(token, 'base64url').toString());
  if (!m) throw bad('pageToken is not one this server gave');
  return Number(m[1]);
}

/**
 * A ListTasks status as sent, checked before the SDK decodes it: the decoder turns an unknown name
 * into the same -1 (UNRECOGNIZED) that the 1.x client sends for an unset status, so only here can a
 * misspelled state still be a -32602 while the client's own `"UNRECOGNIZED"` lists every state.
 */
export function checkListStatus(status: unknown): void {
  if (status === undefined || status === null || status === 'UNRECOGNIZED') return;
  const known =
    typeof status === 'string'
      ? typeof (TaskState as unknown as Record<string, unknown>)[status] === 'number'
      : typeof status === 'number' && TaskState[status] !== undefined;
  if (!known) throw bad(`status ${JSON.stringify(status)} is not a task state`);
}

export async function listTasks(
  db: Db,
  scope: { tenantId: string; agentId: string; viewer?: Viewer },
  q: ListTasksRequest,
): Promise<ListTasksResponse> {
  const pageSize = q.pageSize ?? defaultPageSize;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > maxPageSize) {
    throw bad(`pageSize must be between 1 and ${maxPageSize}`);
  }
  if (q.historyLength !== undefined && q.historyLength < 0) throw bad('historyLength must not be negative');
  const state = q.status ?? TaskState.TASK_STATE_UNSPECIFIED;
  // The SDK's 1.x client encodes an unset status as `"UNRECOGNIZED"`, which decodes to -1: no filter,
  // as unspecified. (A name no state has decodes the same: checkListStatus refused it before decoding.)
  const statuses =
    state === TaskState.TASK_STATE_UNSPECIFIED || state === TaskState.UNRECOGNIZED ? null : statusesOf[state];
  if (statuses === undefined) throw bad(`status ${String(q.status)} is not a task state`);
  const after = q.statusTimestampAfter ? new Date(q.statusTimestampAfter) : null;
  if (after && (!rfc3339.test(q.statusTimestampAfter ?? '') || Number.isNaN(after.getTime()))) {
    throw bad('statusTimestampAfter must be an RFC 3339 timestamp (2026-01-31T12:00:00Z)');
  }
  const offset = offsetOf(q.pageToken);

  const rows = await db.query<RunRow & { total: string }>(
    `select r.*, count(*) over () as total
     from runs r left join sessions s on s.id = r.session_id
       left join a2a_task_runs f on f.run_id = r.id
       -- the task's state and last change, over its further runs too (task-runs.ts currentRun)
       cross join lateral (
         select case when r.status not in ('completed', 'failed', 'cancelled') then r.status else coalesce(
                  -- a further message waiting in the queue keeps the task working (taskOfRuns)
                  (select case c.status when 'queued' then 'running' else c.status end
                   from a2a_task_runs g join runs c on c.id = g.run_id
                   where g.task_id = r.id and c.id <> r.id and c.status not in ('completed', 'failed', 'cancelled')
                   order by c.created_at, c.id limit 1),
                  (select c.status from a2a_task_runs g join runs c on c.id = g.run_id
                   where g.task_id = r.id order by c.created_at desc, c.id desc limit 1),
                  r.status) end as status,
                greatest(r.updated_at, (select max(c.updated_at) from a2a_task_runs g join runs c on c.id = g.run_id
                                        where g.task_id = r.id)) as updated_at
       ) t
     where r.tenant_id = $1 and r.agent_id = $2
       -- a run of a further message is part of its task, not a task (task-runs.ts)
       and (f.task_id is null or f.task_id = r.id)
       and ($3::text is null or coalesce(f.context_id, r.session_id::text) = $3)
       and ($4::text[] is null or t.status = any($4::text[]))
       and ($5::timestamptz is null or t.updated_at > $5)
       -- another user's private session is not there for this viewer (auth/ownership.ts canSee)
       and ($8::boolean or s.visibility is distinct from 'private' or s.owner is null or s.owner = $9)
     order by t.updated_at desc, r.id desc
     limit $6 offset $7`,
    [
      scope.tenantId,
      scope.agentId,
      q.contextId || null,
      statuses,
      after?.toISOString() ?? null,
      pageSize,
      offset,
      !scope.viewer || scope.viewer.admin,
      scope.viewer?.userId ?? null,
    ],
  );
  const totalSize = rows[0] ? Number(rows[0].total) : 0;
  const tasks = [];
  for (const r of rows) {
    const task = taskOfRuns(await taskRuns(db, toRun(r)));
    if (q.historyLength !== undefined)
      task.history = q.historyLength === 0 ? [] : task.history.slice(-q.historyLength);
    if (!q.includeArtifacts) task.artifacts = [];
    tasks.push(task);
  }
  const next = offset + rows.length;
  // The page size used for this response: how many tasks it holds (the TCK reads it so too).
  return { tasks, nextPageToken: next < totalSize ? tokenOf(next) : '', pageSize: tasks.length, totalSize };
}
