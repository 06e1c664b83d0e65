import { Role, type Task } from '@a2a-js/sdk';
import type { Queryable } from '../../db/db.ts';
import { notFound } from '../../errors.ts';
import { type RunRow, toRun } from '../runs/rows.ts';
import type { Run } from '../schema.ts';
import type { TaskView } from './push.ts';
import { agentMessage, answerArtifactId, isFinal, taskOf } from './task-map.ts';

/**
 * An A2A task is a run (task-map.ts), and sometimes more (table `a2a_task_runs`): a further message
 * on a task still working is a further run, queued in the task's session, that belongs to the same
 * task; and a task started in a context whose session is busy runs in a session of its own but
 * belongs to that context. The task's state is its oldest run in progress's, its answer the last
 * run's; its history is every
 * message of its runs, in order.
 */

export interface TaskRuns {
  /** The task's first run: its id is the task's. */
  head: Run;
  /** The runs of its further messages, oldest first. */
  more: Run[];
  /** The A2A context the task belongs to. */
  contextId: string;
}

export const lastRun = (t: TaskRuns): Run => t.more.at(-1) ?? t.head;

/** The run the task's state is: the oldest that has not ended (a later one waits behind it), else the last. */
export const currentRun = (t: TaskRuns): Run =>
  [t.head, ...t.more].find((r) => !isFinal(r.status)) ?? lastRun(t);

/** The id of the task a run belongs to (itself unless it carries a further message). */
export async function taskIdOf(db: Queryable, runId: string): Promise<string> {
  const [row] = await db.query<{ task_id: string }>('select task_id from a2a_task_runs where run_id = $1', [
    runId,
  ]);
  return row?.task_id ?? runId;
}

/** The runs of the task whose first run is `head`. */
export async function taskRuns(db: Queryable, head: Run): Promise<TaskRuns> {
  const rows = await db.query<RunRow & { a2a_context_id: string; a2a_run_id: string }>(
    `select f.context_id as a2a_context_id, f.run_id as a2a_run_id, r.*
     from a2a_task_runs f join runs r on r.id = f.run_id
     where f.task_id = $1 order by r.created_at, r.id`,
    [head.id],
  );
  const own = rows.find((r) => r.a2a_run_id === head.id);
  return {
    head,
    more: rows.filter((r) => r.a2a_run_id !== head.id).map(toRun),
    contextId: own?.a2a_context_id ?? rows[0]?.a2a_context_id ?? head.session_id,
  };
}

/** Records that `runId` belongs to task `taskId` in context `contextId`. */
export async function addTaskRun(
  db: Queryable,
  tenantId: string,
  runId: string,
  taskId: string,
  contextId: string,
): Promise<void> {
  await db.query(
    'insert into a2a_task_runs (run_id, tenant_id, task_id, context_id) values ($1, $2, $3, $4)',
    [runId, tenantId, taskId, contextId],
  );
}

/** The task as A2A clients read it: the latest run's state and answer, every run's messages. */
export function taskOfRuns(t: TaskRuns): Task {
  const current = currentRun(t);
  // A further message waiting in the queue does not send the task back to submitted: it has started.
  const task = taskOf(
    current !== t.head && current.status === 'queued' ? { ...current, status: 'running' } : current,
  );
  const ids = { taskId: t.head.id, contextId: t.contextId };
  const history = [t.head, ...t.more].flatMap((run, i, all) => {
    const user = { ...taskOf(run).history[0]!, ...ids, messageId: `${run.id}:input` };
    // An earlier run's answer is part of the conversation; the latest one's is the artifact.
    const answered = i < all.length - 1 && run.status === 'completed' && run.output !== null;
    return answered
      ? [user, { ...agentMessage(run, `${run.id}:answer`, run.output ?? ''), ...ids, role: Role.ROLE_AGENT }]
      : [user];
  });
  return {
    ...task,
    id: t.head.id,
    contextId: t.contextId,
    status: {
      ...task.status,
      message: task.status?.message && { ...task.status.message, ...ids },
    },
    artifacts: task.artifacts.map((a) => ({ ...a, artifactId: answerArtifactId(t.head.id) })),
    history,
  } as Task;
}

/** The task whose first run is `taskId` as its push watcher reads it (runtime/a2a/push.ts). */
export async function taskView(db: Queryable, tenantId: string, taskId: string): Promise<TaskView> {
  const [row] = await db.query<RunRow>('select * from runs where id = $1 and tenant_id = $2', [
    taskId,
    tenantId,
  ]);
  if (!row) throw notFound('task', taskId);
  const t = await taskRuns(db, toRun(row));
  return { task: taskOfRuns(t), runId: currentRun(t).id, final: isFinal(lastRun(t).status) };
}
