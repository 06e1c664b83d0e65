import { A2A_CONTENT_TYPE, StreamResponse, type Task, type TaskPushNotificationConfig } from '@a2a-js/sdk';
import type { Db } from '../../db/db.ts';
import { AppError, toError } from '../../errors.ts';
import { type OutboundNetwork, outboundRequest } from '../../net/outbound.ts';
import { assertOutboundUrl } from '../../net/ssrf.ts';
import type { Logger } from '../../observability/logger.ts';
import { toRun } from '../runs/rows.ts';
import type { Runtime } from '../runtime.ts';
import { isFinal, taskOf } from './task-map.ts';

/**
 * A2A push notifications: the configs a client registers for a task (stored with the task's first
 * run), and a watcher per task in this process that posts the task to each config's URL whenever its
 * state changes, through the guarded outbound client (SSRF rules, deadline, byte cap). A watcher
 * follows the event log of the task's current run, and of each further run the task takes on after
 * it (`PushDeps.task`), so it sees the runs wherever they execute; watchers do not survive a restart
 * (a client reads the task with tasks/get then); they end with the runtime, whose follows they are.
 */

interface ConfigRow {
  id: string;
  run_id: string;
  url: string;
  token: string;
  authentication: { scheme: string; credentials: string } | null;
}

const toConfig = (r: ConfigRow): TaskPushNotificationConfig => ({
  tenant: '',
  id: r.id,
  taskId: r.run_id,
  url: r.url,
  token: r.token,
  authentication: r.authentication ?? undefined,
});

/** Events after which a run's state may have changed (text deltas cannot change it). */
const turning = new Set(['system', 'tool_call', 'tool_result', 'approval_required', 'session_end']);

export interface PushDeps {
  db: Db;
  runtime: Runtime;
  log: Logger;
  allowPrivate(tenantId: string): Promise<boolean>;
  timeoutMs: number;
  /** Configs one task may have. */
  maxPerTask: number;
  network?: OutboundNetwork;
  /**
   * The task `taskId` as clients read it, with the run whose events change it now; without it, a
   * task is its one run.
   */
  task?(tenantId: string, taskId: string): Promise<TaskView>;
}

/** A task at one moment: what is posted, the run that changes it next, and whether it has ended. */
export interface TaskView {
  task: Task;
  runId: string;
  final: boolean;
}

export class PushNotifier {
  private readonly watching = new Map<string, AbortController>();

  constructor(private readonly deps: PushDeps) {}

  async save(tenantId: string, c: TaskPushNotificationConfig): Promise<TaskPushNotificationConfig> {
    assertOutboundUrl(c.url, await this.deps.allowPrivate(tenantId), 'push notification url');
    const id = c.id || 'default';
    const [row] = await this.deps.db.query<ConfigRow>(
      `insert into a2a_push_configs (tenant_id, run_id, id, url, token, authentication)
       select $1, $2, $3, $4, $5, $6::jsonb
       where (select count(*) from a2a_push_configs where run_id = $2 and tenant_id = $1 and id <> $3) < $7
       on conflict (tenant_id, run_id, id) do update
         set url = excluded.url, token = excluded.token, authentication = excluded.authentication
       returning id, run_id, url, token, authentication`,
      [
        tenantId,
        c.taskId,
        id,
        c.url,
        c.token ?? '',
        c.authentication ? JSON.stringify(c.authentication) : null,
        this.deps.maxPerTask,
      ],
    );
    if (!row)
      throw new AppError(
        'unprocessable',
        `a task has at most ${this.deps.maxPerTask} push notification configs`,
      );
    this.watch(tenantId, c.taskId);
    return toConfig(row);
  }

  async list(tenantId: string, runId: string): Promise<TaskPushNotificationConfig[]> {
    const rows = await this.deps.db.query<ConfigRow>(
      `select id, run_id, url, token, authentication from a2a_push_configs
       where tenant_id = $1 and run_id = $2 order by created_at, id`,
      [tenantId, runId],
    );
    return rows.map(toConfig);
  }

  /** Whether the config existed. */
  async delete(tenantId: string, runId: string, id: string): Promise<boolean> {
    const rows = await this.deps.db.query(
      'delete from a2a_push_configs where tenant_id = $1 and run_id = $2 and id = $3 returning id',
      [tenantId, runId, id],
    );
    return rows.length > 0;
  }

  /** Starts watching a run here (once): each change of its state is posted to its configs. */
  watch(tenantId: string, runId: string): void {
    if (this.watching.has(runId)) return;
    const controller = new AbortController();
    this.watching.set(runId, controller);
    void this.follow(tenantId, runId, controller.signal)
      .catch((err) => this.deps.log.warn({ err: toError(err), run_id: runId }, 'A2A push watcher failed'))
      .finally(() => this.watching.delete(runId));
  }

  private async follow(tenantId: string, taskId: string, signal: AbortSignal): Promise<void> {
    const view = () => (this.deps.task ?? this.oneRun).call(this, tenantId, taskId);
    let now = await view();
    // Where the task stands when its watch begins is the first notice: a task that ended before its
    // config was saved (a quick run sent with returnImmediately) still tells how it ended, and one
    // that works or waits for input says so without waiting for its next change.
    await this.notify(tenantId, taskId, now.task);
    if (now.final) return;
    let last = now.task.status?.state;
    for (;;) {
      for await (const e of this.deps.runtime.follow(now.runId, 0, signal)) {
        if (!turning.has(e.type)) continue;
        const seen = await view();
        if (seen.task.status?.state !== last) {
          last = seen.task.status?.state;
          await this.notify(tenantId, taskId, seen.task);
        }
        if (seen.final) return;
        if (e.type === 'session_end' || seen.runId !== now.runId) break;
      }
      if (signal.aborted) return;
      // The run followed has ended or paused: the task goes on only in a further run of its own.
      const next = await view();
      if (next.task.status?.state !== last) {
        last = next.task.status?.state;
        await this.notify(tenantId, taskId, next.task);
      }
      if (next.final || next.runId === now.runId) return;
      now = next;
    }
  }

  private async oneRun(tenantId: string, runId: string): Promise<TaskView> {
    const run = toRun(await this.deps.runtime.store.get(tenantId, runId));
    return { task: taskOf(run), runId, final: isFinal(run.status) };
  }

  private notify(tenantId: string, taskId: string, task: Task): Promise<void> {
    return this.send(tenantId, taskId, StreamResponse.toJSON({ payload: { $case: 'task', value: task } }));
  }

  /** Posts one notification to every config of the run; a failure is logged, never retried forever. */
  private async send(tenantId: string, runId: string, payload: unknown): Promise<void> {
    const configs = await this.list(tenantId, runId);
    const allowPrivate = await this.deps.allowPrivate(tenantId);
    const body = JSON.stringify(payload);
    await Promise.all(
      configs.map(async (c) => {
        const headers: Record<string, string> = { 'content-type': A2A_CONTENT_TYPE };
        if (c.authentication?.scheme && c.authentication.credentials) {
          headers.authorization = `${c.authentication.scheme} ${c.authentication.credentials}`;
        } else if (c.token) headers['x-a2a-notification-token'] = c.token;
        try {
          const res = await outboundRequest(
            c.url,
            { method: 'POST', headers, body },
            { allowPrivate, timeoutMs: this.deps.timeoutMs, maxBytes: 64 * 1024, network: this.deps.network },
          );
          if (res.status >= 300) {
            this.deps.log.warn({ run_id: runId, status: res.status }, 'A2A push notification refused');
          }
        } catch (err) {
          this.deps.log.warn({ err: toError(err), run_id: runId }, 'A2A push notification failed');
        }
      }),
    );
  }
}
