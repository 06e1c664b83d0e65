import { agentWorkVisibleSql, type Viewer, visibleParam } from '../auth/ownership.ts';
import type { TenantPolicies } from '../config/tenant-policy.ts';
import type { Db } from '../db/db.ts';
import { newId } from '../db/ids.ts';
import { iso } from '../db/iso.ts';
import { listPage } from '../db/page.ts';
import { AppError, notFound } from '../errors.ts';
import type { LiveBus } from '../events/bus.ts';
import { followToEnd } from '../events/follow-to-end.ts';
import type { Actor } from '../events/journal.ts';
import { announce, type FollowOptions, type LoggedEvent } from '../events/log.ts';
import { assertOutboundUrl } from '../net/ssrf.ts';
import { traceparentOf } from '../observability/spans.ts';
import { enqueueTask } from './enqueue.ts';
import { PayloadValidator } from './payload-schema.ts';
import { type TaskRow, toTask } from './rows.ts';
import type {
  CallbackDelivery,
  CreateTaskInput,
  ListTasksQuery,
  QueueStatus,
  ReportInput,
  Retention,
  Task,
  TaskStatus,
} from './schema.ts';
import { terminalEventTypes } from './schema.ts';
import { cancelTask, reportTask, retryTask } from './transitions.ts';

/** Bus topic a worker listens on to abort a running attempt at once (the payload is the task id). */
export const CANCEL_TOPIC = 'agentry_task_cancel';

/** The task type every agent accepts when it declares none: a free-form task (title + description). */
export const DEFAULT_TASK_TYPE = 'default';

/** A task type an agent declares, as far as the queue reads it (the agent's schema has the rest). */
export interface TaskTypeSpec {
  name: string;
  /** JSON Schema the task payload must satisfy. */
  input_schema?: Record<string, unknown>;
  /** `delete`: its tasks are deleted when they succeed (absent: `keep`). */
  retention?: Retention;
}

/** What the queue needs to know about an agent; `AgentService` satisfies it (app.ts plugs it in). */
export interface AgentLookup {
  /** The agent as it is, or as at `version` (404 for a version it never had). */
  at(
    tenantId: string,
    id: string,
    version?: number,
  ): Promise<{ id: string; name: string; version: number; task_types: TaskTypeSpec[] }>;
}

export interface CreateResult {
  task: Task;
  /** False when an idempotency key matched an existing task. */
  created: boolean;
}

/** A task's stream ends at its outcome, unless a retry logs more after it. */
const taskEnding = { ends: (type: string) => terminalEventTypes.includes(type) };

export class TaskService {
  private readonly validator = new PayloadValidator();

  constructor(
    private readonly db: Db,
    private readonly bus: LiveBus,
    private readonly agents: AgentLookup,
    private readonly policies: TenantPolicies,
  ) {}

  /**
   * Validates against the agent's task types and their input schemas, then enqueues. An idempotency
   * key already used in the tenant answers its task, if the viewer may see it; else a 409 that says
   * no more than that the key is taken (neither the task, nor whose it is).
   */
  async create(tenantId: string, input: CreateTaskInput, who: Actor, viewer?: Viewer): Promise<CreateResult> {
    if (input.idempotency_key) {
      const existing = await this.keyHolder(tenantId, input.idempotency_key, viewer);
      if (existing) return { task: existing, created: false };
    }
    const { agent, payload, retention } = await this.checkTemplate(tenantId, input);
    if (input.callback_url) {
      assertOutboundUrl(input.callback_url, await this.allowPrivateCallbacks(tenantId), 'callback_url');
    }
    if (input.parent_task_id) await this.get(tenantId, input.parent_task_id);

    const row = await enqueueTask(this.db, {
      id: newId(),
      tenant_id: tenantId,
      agent_id: agent.id,
      agent_version: input.agent_version,
      task_type: input.task_type,
      title: input.title,
      description: input.description ?? '',
      payload,
      priority: input.priority ?? 0,
      run_at: input.run_at ? new Date(input.run_at) : undefined,
      delay_seconds: input.delay_seconds,
      max_attempts: input.max_attempts ?? 3,
      idempotency_key: input.idempotency_key,
      callback_url: input.callback_url,
      parent_task_id: input.parent_task_id,
      session_id: input.session_id,
      created_by: who.actor,
      traceparent: traceparentOf(who.traceId ? { traceId: who.traceId, spanId: who.spanId } : undefined),
      tracestate: who.traceId ? who.traceState : undefined,
      external: input.external,
      delete_on_success: retention === 'delete',
    });
    if (row) {
      // A lost announcement only delays followers until they poll the log.
      void announce(this.bus, [row.id]).catch(() => {});
      return { task: toTask(row), created: true };
    }
    // Lost a race with a request carrying the same key: answer with the winner.
    const winner = await this.keyHolder(tenantId, input.idempotency_key!, viewer);
    if (!winner) throw new AppError('conflict', 'idempotency key in use; try again');
    return { task: winner, created: false };
  }

  /**
   * Checks what a task (or a schedule's task) would run: the agent is the tenant's (404), it declares
   * the task type (400 listing the allowed ones), and the payload satisfies its input schema (400
   * with field paths).
   */
  async checkTemplate(
    tenantId: string,
    input: { agent_id: string; agent_version?: number; task_type: string; payload?: unknown },
  ): Promise<{ agent: { id: string; name: string }; payload: unknown; retention: Retention }> {
    // A pinned task is checked against the task types of the version it will run.
    const agent = await this.agents.at(tenantId, input.agent_id, input.agent_version);
    const declared = agent.task_types.length > 0 ? agent.task_types.map((t) => t.name) : [DEFAULT_TASK_TYPE];
    const taskType = agent.task_types.find((t) => t.name === input.task_type);
    if (!declared.includes(input.task_type)) {
      throw new AppError(
        'validation_error',
        `agent ${agent.name} has no task type "${input.task_type}"; allowed: ${declared.join(', ')}`,
        {
          details: [
            { in: 'body', path: 'task_type', message: 'not declared by the agent', allowed: declared },
          ],
        },
      );
    }
    const payload = input.payload ?? {};
    if (taskType?.input_schema) this.validator.check(taskType.input_schema, payload, taskType.name);
    return { agent, payload, retention: taskType?.retention ?? 'keep' };
  }

  /**
   * The agent version a task's try runs: the one pinned or recorded by an earlier try, else
   * `latest`, recorded now so every later try runs it too.
   */
  async settleAgentVersion(tenantId: string, id: string, latest: number): Promise<number> {
    const [row] = await this.db.query<{ agent_version: number }>(
      `update tasks set agent_version = coalesce(agent_version, $3) where tenant_id = $1 and id = $2
       returning agent_version`,
      [tenantId, id, latest],
    );
    return row?.agent_version ?? latest;
  }

  /** A task; with a viewer, one of another user's private agent is not found (404), as the agent. */
  async get(tenantId: string, id: string, viewer?: Viewer): Promise<Task> {
    const [row] = await this.db.query<TaskRow>(
      `select * from tasks t where t.tenant_id = $1 and t.id = $2 and ${agentWorkVisibleSql(3, 't.')}`,
      [tenantId, id, visibleParam(viewer)],
    );
    if (!row) throw notFound('task', id);
    return toTask(row);
  }

  /**
   * A task's events after `options.afterSeq`, live, until it ends: a terminal event with nothing
   * logged after it (a retried task goes on). Check the caller may see it (`get`) first.
   */
  follow(id: string, options: FollowOptions): AsyncGenerator<LoggedEvent, boolean> {
    return followToEnd(this.db, this.bus, id, options, taskEnding);
  }

  /** The callback deliveries of a task (one per outcome sent), oldest first. */
  async callbacks(tenantId: string, id: string, viewer?: Viewer): Promise<CallbackDelivery[]> {
    await this.get(tenantId, id, viewer);
    type Row = Omit<CallbackDelivery, `${string}_at`> & Record<`${string}_at`, Date | null>;
    const rows = await this.db.query<Row>(
      `select id, url, attempts, last_status, delivered_at, given_up_at, next_attempt_at, created_at
         from callback_outbox where tenant_id = $1 and task_id = $2 order by created_at, id`,
      [tenantId, id],
    );
    return rows.map((r) => ({
      id: r.id,
      url: r.url,
      attempts: r.attempts,
      last_status: r.last_status,
      delivered_at: iso(r.delivered_at),
      given_up_at: iso(r.given_up_at),
      next_attempt_at: iso(r.next_attempt_at) ?? '',
      created_at: iso(r.created_at) ?? '',
    }));
  }

  /** Newest first: ids are UUIDv7, so id order is creation order, and pages are stable. */
  async list(tenantId: string, q: ListTasksQuery, viewer?: Viewer) {
    return listPage(
      this.db,
      q,
      {
        select: '*',
        from: `from tasks t where tenant_id = $1 and ($2::uuid is null or agent_id = $2)
               and ($3::text is null or status = $3) and ($4::text is null or task_type = $4)
               and ($5::timestamptz is null or created_at >= $5) and ($6::timestamptz is null or created_at < $6)
               and ${agentWorkVisibleSql(7, 't.')}`,
        orderBy: 'id desc',
        params: [
          tenantId,
          q.agent_id ?? null,
          q.status ?? null,
          q.task_type ?? null,
          q.since ?? null,
          q.until ?? null,
          visibleParam(viewer),
        ],
      },
      toTask,
    );
  }

  async cancel(tenantId: string, id: string, who: Actor, viewer?: Viewer): Promise<Task> {
    if (viewer) await this.get(tenantId, id, viewer);
    const row = await cancelTask(this.db, tenantId, id, who.actor);
    if (!row) throw await this.illegal(tenantId, id, 'cancel', ['pending', 'in_progress']);
    if (row.was === 'in_progress') await this.bus.publish(CANCEL_TOPIC, id);
    // A lost announcement only delays followers until they poll the log.
    void announce(this.bus, [id]).catch(() => {});
    const { was: _, ...task } = row;
    return toTask(task);
  }

  async retry(tenantId: string, id: string, who: Actor, viewer?: Viewer): Promise<Task> {
    if (viewer) await this.get(tenantId, id, viewer);
    const row = await retryTask(this.db, tenantId, id, who.actor);
    if (!row) throw await this.illegal(tenantId, id, 'retry', ['failed', 'cancelled']);
    // A lost announcement only delays followers until they poll the log.
    void announce(this.bus, [id]).catch(() => {});
    return toTask(row);
  }

  /**
   * An external worker reports the outcome. Idempotent: the same report again answers the task as
   * it is; any report once the task is terminal otherwise is a 409.
   */
  async report(tenantId: string, id: string, input: ReportInput, who: Actor): Promise<Task> {
    const row = await reportTask(this.db, tenantId, id, who.actor, {
      status: input.status,
      result: input.result,
      summary: input.result_summary ?? null,
      error: input.error ?? null,
    });
    if (row) {
      if (row.was === 'in_progress') await this.bus.publish(CANCEL_TOPIC, id);
      // A lost announcement only delays followers until they poll the log.
      void announce(this.bus, [id]).catch(() => {});
      const { was: _, ...task } = row;
      return toTask(task);
    }
    const current = await this.get(tenantId, id);
    const same =
      current.status === input.status &&
      JSON.stringify(current.result) === JSON.stringify(input.result ?? null) &&
      (input.status === 'completed' || current.error_message === input.error);
    if (same) return current;
    throw new AppError('conflict', `task ${id} is already ${current.status}`);
  }

  /** Counts by status and agent, the oldest pending task's age, running and expired leases. */
  /**
   * With a viewer, the counts are still the whole queue's, but another user's private agent has no
   * row of its own in `by_agent` (its id is not shown).
   */
  async status(tenantId?: string, viewer?: Viewer): Promise<QueueStatus> {
    const rows = await this.db.query<{ agent_id: string; status: string; count: number; visible: boolean }>(
      `select agent_id, status, count(*)::int as count, ${agentWorkVisibleSql(2, 't.')} as visible
       from tasks t where ($1::uuid is null or tenant_id = $1)
       group by agent_id, status order by agent_id, status`,
      [tenantId ?? null, visibleParam(viewer)],
    );
    const [facts] = await this.db.query<{ oldest: number | null; running: number; expired: number }>(
      `select (select extract(epoch from now() - min(run_at))::float8 from tasks
                where status = 'pending' and external is null and run_at <= now()
                  and ($1::uuid is null or tenant_id = $1)) as oldest,
              (select count(*)::int from tasks
                where status = 'in_progress' and ($1::uuid is null or tenant_id = $1)) as running,
              (select count(*)::int from tasks where status = 'in_progress' and lease_expires_at < now()
                 and ($1::uuid is null or tenant_id = $1)) as expired`,
      [tenantId ?? null],
    );
    const counts: Record<string, number> = {
      pending: 0,
      in_progress: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
    };
    for (const r of rows) counts[r.status] = (counts[r.status] ?? 0) + r.count;
    return {
      counts,
      by_agent: rows.filter((r) => r.visible).map(({ visible: _, ...r }) => r),
      oldest_pending_age_seconds:
        facts?.oldest === null || facts?.oldest === undefined ? null : Number(facts.oldest),
      running_leases: facts?.running ?? 0,
      expired_leases: facts?.expired ?? 0,
    };
  }

  /** The tenant's tasks created since `since`, counted by status (the tenant/created_at index). */
  async countSince(tenantId: string, since: Date): Promise<Record<string, number>> {
    const rows = await this.db.query<{ status: string; count: number }>(
      `select status, count(*)::int as count from tasks
       where tenant_id = $1 and created_at >= $2 group by status`,
      [tenantId, since],
    );
    return Object.fromEntries(rows.map((r) => [r.status, r.count]));
  }

  /** Queue facts for /health, over the partial indexes only (cheap whatever the history's size). */
  async health(): Promise<{
    pending: number;
    runnable: number;
    oldest_pending_age_s: number | null;
    running_leases: number;
    expired_leases: number;
  }> {
    const [row] = await this.db.query<{
      pending: number;
      runnable: number;
      oldest: number | null;
      running: number;
      expired: number;
    }>(
      `select (select count(*)::int from tasks where status = 'pending') as pending,
              (select count(*)::int from tasks
                where status = 'pending' and external is null and run_at <= now()) as runnable,
              (select extract(epoch from now() - min(run_at))::float8 from tasks
                where status = 'pending' and external is null and run_at <= now()) as oldest,
              (select count(*)::int from tasks where status = 'in_progress') as running,
              (select count(*)::int from tasks where status = 'in_progress' and lease_expires_at < now()) as expired`,
    );
    return {
      pending: row?.pending ?? 0,
      runnable: row?.runnable ?? 0,
      oldest_pending_age_s:
        row?.oldest === null || row?.oldest === undefined ? null : Math.round(Number(row.oldest)),
      running_leases: row?.running ?? 0,
      expired_leases: row?.expired ?? 0,
    };
  }

  /** The tenant's task with this idempotency key; with a viewer, none if the viewer may not see it. */
  async byIdempotencyKey(tenantId: string, key: string, viewer?: Viewer): Promise<Task | undefined> {
    const row = await this.keyed(tenantId, key, viewer);
    return row?.visible ? toTask(row.task) : undefined;
  }

  /**
   * The task a new task's idempotency key already names. Keys are the tenant's (a client's retry
   * may come through another of its keys), so a key naming a task the viewer may not see (another
   * user's private agent's) is a 409 naming only the field: the caller learns that the key is taken,
   * which using it tells anyway, and nothing of the task or whose it is.
   */
  private async keyHolder(tenantId: string, key: string, viewer?: Viewer): Promise<Task | undefined> {
    const row = await this.keyed(tenantId, key, viewer);
    if (!row) return undefined;
    if (!row.visible)
      throw new AppError('conflict', 'idempotency_key is already in use in this tenant: choose another', {
        details: [{ in: 'body', path: 'idempotency_key', message: 'in use' }],
      });
    return toTask(row.task);
  }

  private async keyed(tenantId: string, key: string, viewer?: Viewer) {
    const [row] = await this.db.query<TaskRow & { visible: boolean }>(
      `select t.*, ${agentWorkVisibleSql(3, 't.')} as visible from tasks t
        where t.tenant_id = $1 and t.idempotency_key = $2`,
      [tenantId, key, visibleParam(viewer)],
    );
    if (!row) return undefined;
    const { visible, ...task } = row;
    return { task: task as TaskRow, visible };
  }

  private async allowPrivateCallbacks(tenantId: string): Promise<boolean> {
    const [t] = await this.db.query<{ name: string }>('select name from tenants where id = $1', [tenantId]);
    return t ? this.policies.get(t.name).network.allow_private_callbacks : false;
  }

  /** 404 when the task is not the tenant's, else 409 naming the state it is in. */
  private async illegal(tenantId: string, id: string, what: string, from: TaskStatus[]): Promise<AppError> {
    const task = await this.get(tenantId, id);
    return new AppError(
      'conflict',
      `cannot ${what} task ${id}: it is ${task.status} (allowed from ${from.join(', ')})`,
    );
  }
}
