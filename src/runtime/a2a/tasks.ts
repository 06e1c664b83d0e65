import type { ListTasksRequest, ListTasksResponse } from '@a2a-js/sdk';
import type { Viewer } from '../../auth/ownership.ts';
import type { Db } from '../../db/db.ts';
import type { Run } from '../schema.ts';
import type { TaskView } from './push.ts';
import { listTasks } from './task-list.ts';
import { addTaskRun, type TaskRuns, taskIdOf, taskRuns, taskView } from './task-runs.ts';

/**
 * A2A tasks over Agentry runs (task-runs.ts): the store's side of the A2A door, so the door
 * (doors/a2a) and the push watcher speak to one service and no SQL sits in a route.
 */
export class A2ATasks {
  constructor(private readonly db: Db) {}

  /** `ListTasks` of one agent's tasks, as `viewer` may see them. */
  list(
    scope: { tenantId: string; agentId: string; viewer?: Viewer },
    q: ListTasksRequest,
  ): Promise<ListTasksResponse> {
    return listTasks(this.db, scope, q);
  }

  /** The task `head` begins, with its further runs (`head` may be any run: see `taskOf`). */
  runs(head: Run): Promise<TaskRuns> {
    return taskRuns(this.db, head);
  }

  /** The id of the task a run belongs to (itself unless it carries a further message). */
  taskIdOf(runId: string): Promise<string> {
    return taskIdOf(this.db, runId);
  }

  /** Records that `runId` belongs to task `taskId` in context `contextId`. */
  add(tenantId: string, runId: string, taskId: string, contextId: string): Promise<void> {
    return addTaskRun(this.db, tenantId, runId, taskId, contextId);
  }

  /** The task as its push watcher reads it. */
  view(tenantId: string, taskId: string): Promise<TaskView> {
    return taskView(this.db, tenantId, taskId);
  }

  /** The session of the latest task of `agentId` in the context a client named `contextId`. */
  async contextSession(tenantId: string, agentId: string, contextId: string): Promise<string | undefined> {
    const [row] = await this.db.query<{ session_id: string }>(
      `select r.session_id from a2a_task_runs f join runs r on r.id = f.run_id
       where f.tenant_id = $1 and f.context_id = $2 and r.agent_id = $3
       order by r.created_at desc, r.id desc limit 1`,
      [tenantId, contextId, agentId],
    );
    return row?.session_id;
  }
}
