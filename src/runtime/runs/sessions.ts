import { rm } from 'node:fs/promises';
import {
  assertMayChangeVisibility,
  runVisibleSql,
  sessionVisibleSql,
  type Viewer,
  visibleParam,
} from '../../auth/ownership.ts';
import type { Db } from '../../db/db.ts';
import { newId } from '../../db/ids.ts';
import { listPage, type Page } from '../../db/page.ts';
import { AppError, notFound } from '../../errors.ts';
import { type Actor, writeJournal } from '../../events/journal.ts';
import { type SessionSearchInput, searchSessions } from '../../memory/session-search.ts';
import type { Workspace } from '../../tools/workspace.ts';
import type { ListSessionsQuery, Message, Session } from '../schema.ts';

interface SessionRow {
  id: string;
  agent_id: string;
  title: string;
  owner: string | null;
  visibility: 'private' | 'tenant';
  message_count: number;
  exchange_count: number;
  created_at: Date;
  updated_at: Date;
}

const toSession = (r: SessionRow): Session => ({
  ...r,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

/** The columns of a session row aliased `s`; its exchanges are its user messages. */
const columns = `s.id, s.agent_id, s.title, s.owner, s.visibility, s.message_count, s.created_at, s.updated_at,
  (select count(*) from messages m where m.session_id = s.id and m.role = 'user')::int as exchange_count`;

/**
 * Sessions by what made them, for the row aliased `s`: a task's run has its task id, an experiment
 * item's run the item's idempotency key (`eval:<item id>`, see eval/experiments/lane.ts); a chat has
 * neither (the session of a queued task or an experiment item is never chatted in).
 */
const madeBy = {
  task: `exists (select 1 from runs r where r.session_id = s.id and r.task_id is not null)`,
  experiment: `exists (select 1 from runs r where r.session_id = s.id and r.options->>'idempotency_key' like 'eval:%')`,
};
const originSql: Record<NonNullable<ListSessionsQuery['origin']>, string> = {
  task: madeBy.task,
  experiment: madeBy.experiment,
  chat: `not ${madeBy.task} and not ${madeBy.experiment}`,
};

/** Chat sessions as the API shows them: listing, history, deletion (with the session's workspace). */
export class SessionService {
  constructor(
    private readonly db: Db,
    private readonly workspace: (tenantId: string, sessionId: string) => Workspace,
  ) {}

  async list(tenantId: string, q: ListSessionsQuery, viewer?: Viewer): Promise<Page<Session>> {
    return listPage(
      this.db,
      q,
      {
        select: columns,
        from: `from sessions s where s.tenant_id = $1 and ($2::uuid is null or s.agent_id = $2)
                 and ${sessionVisibleSql(3, 's.')}${q.origin ? ` and ${originSql[q.origin]}` : ''}`,
        orderBy: 's.updated_at desc, s.id desc',
        params: [tenantId, q.agent_id ?? null, visibleParam(viewer)],
      },
      toSession,
    );
  }

  /** Past messages of the tenant's sessions (or one agent's) that match a query, best first. */
  search(tenantId: string, input: SessionSearchInput, viewer?: Viewer) {
    return searchSessions(this.db, tenantId, input, viewer);
  }

  /**
   * 404 for a run of another user's private session or private agent, as for a run that does not
   * exist (a run that does not exist is left to the caller's own lookup).
   */
  async assertRunVisible(tenantId: string, runId: string, viewer: Viewer): Promise<void> {
    const param = visibleParam(viewer);
    if (param === null) return;
    const [hidden] = await this.db.query(
      `select 1 from runs r where r.id = $1 and r.tenant_id = $2 and not ${runVisibleSql(3, 'r.')}`,
      [runId, tenantId, param],
    );
    if (hidden) throw notFound('run', runId);
  }

  /**
   * The session a client names with its own key (any string), made on first use and owned by
   * `owner` (the calling user): one per key, agent, user and tenant, also when two requests with a
   * new key race (the unique index decides). Keys are the user's own: another user of the tenant who
   * picks the same key (`demo`, `s1`) gets a session of their own, never this one's history.
   */
  async forClientKey(
    tenantId: string,
    agentId: string,
    key: string,
    owner: string | undefined,
  ): Promise<string> {
    const find = () =>
      this.db.query<{ id: string }>(
        `select id from sessions
         where tenant_id = $1 and agent_id = $2 and client_key = $3 and coalesce(owner, '') = $4`,
        [tenantId, agentId, key, owner ?? ''],
      );
    const [found] = await find();
    if (found) return found.id;
    await this.db.query(
      `insert into sessions (id, tenant_id, agent_id, title, client_key, owner) values ($1, $2, $3, $4, $4, $5)
       on conflict (tenant_id, agent_id, (coalesce(owner, '')), client_key) where client_key is not null
       do nothing`,
      [newId(), tenantId, agentId, key.slice(0, 200), owner ?? null],
    );
    const [made] = await find();
    if (!made) throw new AppError('conflict', `session key ${key} could not be claimed`);
    return made.id;
  }

  /**
   * A session; with a viewer, another user's private session, or a session of their private agent,
   * is not found (404).
   */
  async get(tenantId: string, id: string, viewer?: Viewer): Promise<Session> {
    const [row] = await this.db.query<SessionRow>(
      `select ${columns} from sessions s where s.id = $1 and s.tenant_id = $2 and ${sessionVisibleSql(3, 's.')}`,
      [id, tenantId, visibleParam(viewer)],
    );
    if (!row) throw notFound('session', id);
    return toSession(row);
  }

  /** Renames a session or makes it private (only its owner and admins see it) or the tenant's again. */
  async update(
    tenantId: string,
    id: string,
    input: { title?: string; visibility?: 'private' | 'tenant' },
    who: Actor,
    viewer?: Viewer,
  ): Promise<Session> {
    const current = await this.get(tenantId, id, viewer);
    if (input.visibility !== undefined) assertMayChangeVisibility(viewer, current, `session ${id}`);
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<SessionRow>(
        `update sessions s set title = coalesce($3, title), visibility = coalesce($4, visibility),
                owner = coalesce(owner, $5), updated_at = now()
         where id = $1 and tenant_id = $2 returning ${columns}`,
        [id, tenantId, input.title ?? null, input.visibility ?? null, viewer?.userId ?? null],
      );
      if (!row) throw notFound('session', current.id);
      await writeJournal(tx, who, {
        action: 'session.update',
        target: id,
        data: { fields: Object.keys(input) },
      });
      return toSession(row);
    });
  }

  async messages(
    tenantId: string,
    id: string,
    after: number,
    limit: number,
    viewer?: Viewer,
  ): Promise<Message[]> {
    await this.get(tenantId, id, viewer);
    const rows = await this.db.query<Omit<Message, 'created_at'> & { created_at: Date }>(
      `select seq, role, content, tool_calls, tool_call_id, parts, tokens, run_id, created_at from messages
       where session_id = $1 and tenant_id = $2 and seq > $3 order by seq limit $4`,
      [id, tenantId, after, limit],
    );
    return rows.map((r) => ({ ...r, created_at: r.created_at.toISOString() }));
  }

  /**
   * Deletes a session, its messages, runs and steps, and its workspace directory. Refused (409)
   * while a run of it is active: cancel that first, so no executor writes into a deleted session.
   */
  async delete(tenantId: string, id: string, who: Actor, viewer?: Viewer): Promise<void> {
    if (viewer) await this.get(tenantId, id, viewer);
    await this.db.transaction(async (tx) => {
      const [row] = await tx.query<{ active: string | null }>(
        `select (select id from runs where session_id = s.id and status in ('queued', 'running', 'input_required', 'interrupted')
                 limit 1) as active
         from sessions s where s.id = $1 and s.tenant_id = $2 for update`,
        [id, tenantId],
      );
      if (!row) throw notFound('session', id);
      if (row.active) {
        throw new AppError(
          'conflict',
          `session ${id} has a run in progress (${row.active}); cancel it first`,
          {
            details: { run_id: row.active },
          },
        );
      }
      // The runs' streams hold the conversation's text too.
      await tx.query('delete from events where stream_id in (select id from runs where session_id = $1)', [
        id,
      ]);
      await tx.query('delete from sessions where id = $1 and tenant_id = $2', [id, tenantId]);
      await writeJournal(tx, who, { action: 'session.delete', target: id });
    });
    await rm(this.workspace(tenantId, id).root, { recursive: true, force: true });
  }
}
