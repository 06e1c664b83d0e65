import {
  assertMayChangeVisibility,
  canSee,
  type Viewer,
  visibleParam,
  visibleSql,
} from '../auth/ownership.ts';
import type { BudgetLimits } from '../config/tenant-policy.ts';
import type { Db, Queryable } from '../db/db.ts';
import { newId } from '../db/ids.ts';
import { listPage, type Page } from '../db/page.ts';
import { patchSet, withoutUndefined } from '../db/patch.ts';
import { AppError, isUniqueViolation, nameTaken, notFound, refuseWhileUsed, type User } from '../errors.ts';
import { type Actor, writeJournal } from '../events/journal.ts';
import { assertOutboundUrl } from '../net/ssrf.ts';
import {
  type Agent,
  type CreateAgentInput,
  isAgentId,
  type ListAgentsQuery,
  type UpdateAgentInput,
} from './schema.ts';
import type { TemplateService } from './templates.ts';
import type { AgentConfig } from './version-schema.ts';
import { splitVersionPin } from './version-schema.ts';
import {
  agentAtVersion,
  labelledVersion,
  unknownVersion,
  versionedParams,
  versionedWrite,
} from './versions.ts';

interface AgentRow extends Omit<Agent, 'created_at' | 'updated_at'> {
  created_at: Date;
  updated_at: Date;
}

const toAgent = (r: AgentRow): Agent => ({
  ...r,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

const plainColumns = [
  'name',
  'description',
  'model',
  'system_prompt',
  'mode',
  'env',
  'visibility',
  'source',
  'template_id',
  'runtime_url',
  'multi_agent_id',
] as const;
const jsonColumns = [
  'tools',
  'skills',
  'knowledge',
  'task_types',
  'handoffs',
  'metadata',
  'budget',
  'response_format',
] as const;
const allColumns = [...plainColumns, ...jsonColumns];

/**
 * An agent's own budget caps what its keys may spend: only a tenant admin (or a caller inside the
 * process, who passes no viewer) may set, change or clear it. A key without the admin scope that
 * sends `budget` at all is refused (403) and nothing changes, so it cannot lift its own cap.
 */
function assertMaySetBudget(viewer: Viewer | undefined, input: { budget?: unknown }, what: string): void {
  if (input.budget === undefined || !viewer || viewer.admin) return;
  throw new AppError('forbidden', `only a tenant admin may set the budget of ${what}`);
}

/** Told the tenant and agent names whose own budget may have changed (the gateway caches them). */
/** A 409 for a name another agent of the tenant has, said under the form's name field. */
const agentNameTaken = (name: string) => nameTaken(`an agent named ${name} already exists`);

export type BudgetChanged = (tenantId: string, names: string[]) => void;

export class AgentService {
  constructor(
    private readonly db: Db,
    private readonly templates: TemplateService,
    private readonly defaultModel: string,
    /** Whether the tenant's policy lets `runtime_url` point at a private address. */
    private readonly allowPrivateEgress: (tenantId: string) => Promise<boolean> = async () => false,
    private readonly budgetChanged: BudgetChanged = () => {},
  ) {}

  /**
   * The own budget of the agent named exactly `name` (the name the model gateway bills, as
   * tenants.yaml's `budgets.agents` keys are), or null when it has none or there is no such agent.
   */
  async budgetOf(tenantId: string, name: string): Promise<BudgetLimits | null> {
    const [row] = await this.db.query<{ budget: BudgetLimits | null }>(
      'select budget from agents where tenant_id = $1 and name = $2',
      [tenantId, name],
    );
    return row?.budget ?? null;
  }

  /** The own budgets of a tenant's agents that have one, by name. */
  async budgets(tenantId: string): Promise<Record<string, BudgetLimits>> {
    const rows = await this.db.query<{ name: string; budget: BudgetLimits }>(
      'select name, budget from agents where tenant_id = $1 and budget is not null',
      [tenantId],
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.budget]));
  }

  /** A remote agent's runtime URL obeys the SSRF rules when it is set (and again at every call). */
  private async checkRuntimeUrl(tenantId: string, url: string | null | undefined): Promise<void> {
    if (url) assertOutboundUrl(url, await this.allowPrivateEgress(tenantId), 'runtime_url');
  }

  /**
   * Creates an agent owned by `owner` (the creating user); with `template_id`, template values fill
   * every field the request did not send. With a viewer, a `budget` needs the admin scope.
   */
  async create(
    tenantId: string,
    input: CreateAgentInput,
    who: Actor,
    owner?: string,
    viewer?: Viewer,
    note?: string,
  ): Promise<Agent> {
    assertMaySetBudget(viewer, input, `agent ${input.name}`);
    await this.checkRuntimeUrl(tenantId, input.runtime_url);
    const base: Omit<Agent, 'id' | 'tenant_id' | 'version' | 'created_at' | 'updated_at' | 'name' | 'owner'> =
      {
        description: '',
        model: this.defaultModel,
        system_prompt: '',
        tools: [],
        skills: [],
        mode: 'REACTIVE',
        env: 'in_process',
        knowledge: [],
        task_types: [],
        handoffs: [],
        visibility: 'tenant',
        metadata: {},
        source: 'basic',
        template_id: null,
        runtime_url: null,
        multi_agent_id: null,
        budget: null,
        response_format: null,
      };
    if (input.template_id) {
      const t = await this.templates.get(tenantId, input.template_id);
      Object.assign(base, {
        description: t.description,
        model: t.model ?? this.defaultModel,
        system_prompt: t.system_prompt,
        tools: t.tools,
        skills: t.skills,
        mode: t.mode,
        env: t.env,
        task_types: t.task_types,
        source: 'template',
        template_id: t.id,
      });
    }
    const agent = { ...base, ...withoutUndefined(input), id: newId(), tenant_id: tenantId };
    const params = allColumns.map((c) =>
      jsonColumns.includes(c as never) && agent[c] !== null ? JSON.stringify(agent[c]) : agent[c],
    );
    const placeholders = allColumns.map(
      (c, i) => `$${i + 3}${jsonColumns.includes(c as never) ? '::jsonb' : ''}`,
    );
    const n = allColumns.length + 3;
    // The agent, its first version and the journal's row: one statement.
    const [row] = await this.db
      .query<AgentRow>(
        versionedWrite(
          `insert into agents (id, tenant_id, ${allColumns.join(', ')}, owner)
           values ($1, $2, ${placeholders.join(', ')}, $${n}) returning *`,
          n + 1,
        ),
        [
          agent.id,
          tenantId,
          ...params,
          owner ?? null,
          ...versionedParams(who, note, { action: 'agent.create', data: { name: agent.name } }),
        ],
      )
      .catch((err: unknown) => {
        if (isUniqueViolation(err)) throw agentNameTaken(String(agent.name));
        throw err;
      });
    const created = toAgent(row!);
    if (created.budget) this.budgetChanged(tenantId, [created.name]);
    return created;
  }

  /** An agent by id; with a viewer, another user's private agent is not found (404). */
  async get(tenantId: string, id: string, viewer?: Viewer): Promise<Agent> {
    const [row] = await this.db.query<AgentRow>('select * from agents where tenant_id = $1 and id = $2', [
      tenantId,
      id,
    ]);
    if (!row || !canSee(viewer, row)) throw notFound('agent', id);
    return toAgent(row);
  }

  /**
   * The agent as it was at `version` (absent: as it is now), to run it pinned; 404 for an unknown
   * agent or a version it never had. Who may see it is decided by the agent as it is now.
   */
  async at(tenantId: string, id: string, version?: number, viewer?: Viewer): Promise<Agent> {
    if (version === undefined) return this.get(tenantId, id, viewer);
    const [row] = await this.db.query<AgentRow & { pinned: AgentConfig | null }>(
      `select a.*, v.config as pinned from agents a
       left join agent_versions v on v.tenant_id = a.tenant_id and v.agent_id = a.id and v.version = $3
       where a.tenant_id = $1 and a.id = $2`,
      [tenantId, id, version],
    );
    if (!row || !canSee(viewer, row)) throw notFound('agent', id);
    const { pinned, ...present } = row;
    if (row.version === version) return toAgent(present);
    if (!pinned) throw await unknownVersion(this.db, tenantId, id, version);
    return agentAtVersion(toAgent(present), { version, config: pinned });
  }

  /**
   * The agent a pinned reference names and the version it pins: `name@3`, `name@production` (the
   * version the label points at now, so a later move of the label changes nothing already started),
   * or `name` with `version` (a body's `agent_version`); both, disagreeing, is a 400.
   */
  async pinOf(
    tenantId: string,
    pinned: string,
    viewer?: Viewer,
    version?: number,
  ): Promise<{ agentId: string; version?: number; label?: string }> {
    const split = splitVersionPin(pinned);
    const agentId = await this.idOf(tenantId, split.ref, viewer);
    const pin =
      split.label !== undefined
        ? await labelledVersion(this.db, tenantId, agentId, split.label, split.ref)
        : split.version;
    if (pin !== undefined && version !== undefined && pin !== version) {
      throw new AppError(
        'validation_error',
        `${pinned} pins version ${pin} but agent_version is ${version}: they disagree, send one of them`,
      );
    }
    const v = pin ?? version;
    return {
      agentId,
      ...(v !== undefined && { version: v }),
      ...(split.label !== undefined && { label: split.label }),
    };
  }

  /** Every task type that some agent declares, in every tenant (the queue's metrics show each one). */
  async declaredTaskTypes(): Promise<string[]> {
    const rows = await this.db.query<{ name: string }>(
      `select distinct t->>'name' as name from agents, jsonb_array_elements(task_types) t
       where t->>'name' is not null order by 1`,
    );
    return rows.map((r) => r.name);
  }

  /**
   * Agents published across tenants, by name (A2A discovery): those with `visibility: public`, and
   * every agent of the tenants in `allOf` (their policy publishes all).
   */
  published(
    allOf: readonly string[],
    limit: number,
  ): Promise<Array<Pick<Agent, 'id' | 'name' | 'description'>>> {
    return this.db.query(
      `select id, name, description from agents
       where visibility = 'public' or tenant_id = any($1::uuid[])
       order by name, id limit $2`,
      [allOf, limit],
    );
  }

  /** An agent by id in whichever tenant holds it (A2A discovery of published agents); undefined when none. */
  async findById(id: string): Promise<Agent | undefined> {
    const [row] = await this.db.query<AgentRow>('select * from agents where id = $1', [id]);
    return row && toAgent(row);
  }

  /**
   * An agent by id or by name, wherever a route takes an agent: names are unique per tenant
   * whatever their case (clients of the earlier systems write `LUMINA` or `lumina`).
   */
  async resolve(tenantId: string, ref: string, viewer?: Viewer): Promise<Agent> {
    if (isAgentId(ref)) return this.get(tenantId, ref, viewer);
    const [row] = await this.db.query<AgentRow>(
      'select * from agents where tenant_id = $1 and lower(name) = lower($2)',
      [tenantId, ref],
    );
    if (!row || !canSee(viewer, row)) throw notFound('agent', ref);
    return toAgent(row);
  }

  /**
   * The id of the agent `ref` names. An id is taken as it is (the agent may be gone: its runs and
   * tasks are still listed by it), unless it is another user's private agent: 404, as by name.
   */
  async idOf(tenantId: string, ref: string, viewer?: Viewer): Promise<string> {
    if (!isAgentId(ref)) return (await this.resolve(tenantId, ref, viewer)).id;
    if (visibleParam(viewer) !== null) {
      const [row] = await this.db.query<Pick<AgentRow, 'owner' | 'visibility'>>(
        'select owner, visibility from agents where tenant_id = $1 and id = $2',
        [tenantId, ref],
      );
      if (row && !canSee(viewer, row)) throw notFound('agent', ref);
    }
    return ref;
  }

  /** The names of the tenant's agents the viewer may not see (other users' private ones). */
  async hiddenNames(tenantId: string, viewer?: Viewer): Promise<Set<string>> {
    const param = visibleParam(viewer);
    if (param === null) return new Set();
    const rows = await this.db.query<{ name: string }>(
      `select name from agents where tenant_id = $1 and not ${visibleSql(2)}`,
      [tenantId, param],
    );
    return new Set(rows.map((r) => r.name));
  }

  async list(tenantId: string, q: ListAgentsQuery, viewer?: Viewer): Promise<Page<Agent>> {
    // Escape LIKE wildcards so a name filter matches literally.
    const like = q.name === undefined ? null : `%${q.name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return listPage(
      this.db,
      q,
      {
        select: '*',
        from: `from agents where tenant_id = $1 and ($2::text is null or name ilike $2)
               and ($3::text is null or source = $3) and ${visibleSql(4)}`,
        orderBy: 'created_at desc, id desc',
        params: [tenantId, like, q.source ?? null, visibleParam(viewer)],
      },
      toAgent,
    );
  }

  /**
   * Changes only the fields present in `input`, bumps the version and stores it (by `who`, with
   * `note`). With a viewer, `budget` needs admin. Nothing sent changes nothing, unless `always` (a
   * rollback to the present config still makes its version).
   */
  async update(
    tenantId: string,
    id: string,
    input: UpdateAgentInput,
    who: Actor,
    viewer?: Viewer,
    { note, always = false }: { note?: string; always?: boolean } = {},
  ): Promise<Agent> {
    if (viewer) {
      const current = await this.get(tenantId, id, viewer);
      if (input.visibility !== undefined) assertMayChangeVisibility(viewer, current, `agent ${current.name}`);
      assertMaySetBudget(viewer, input, `agent ${current.name}`);
    }
    await this.checkRuntimeUrl(tenantId, input.runtime_url);
    const set = patchSet(input, { plain: plainColumns, json: jsonColumns }, 3);
    if (!set.sql && !always) return this.get(tenantId, id);
    const n = set.params.length + 3;
    // The change, its version and the journal's row: one statement (in a transaction with the
    // read of the old name when renaming: the gateway's cache of own budgets is keyed by name).
    const write = async (q: Queryable) => {
      const [old] =
        input.name !== undefined
          ? await q.query<{ name: string }>(
              'select name from agents where tenant_id = $1 and id = $2 for update',
              [tenantId, id],
            )
          : [];
      const [row] = await q.query<AgentRow>(
        versionedWrite(
          `update agents set ${set.sql ? `${set.sql}, ` : ''}version = version + 1, updated_at = now()
           where tenant_id = $1 and id = $2 returning *`,
          n,
        ),
        [
          tenantId,
          id,
          ...set.params,
          ...versionedParams(who, note, {
            action: 'agent.update',
            data: { fields: Object.keys(input), ...(input.budget !== undefined && { budget: input.budget }) },
          }),
        ],
      );
      if (!row) throw notFound('agent', id);
      return { agent: toAgent(row), before: old?.name };
    };
    const { agent, before } = await (input.name !== undefined
      ? this.db.transaction(write)
      : write(this.db)
    ).catch((err: unknown) => {
      if (isUniqueViolation(err)) throw agentNameTaken(input.name ?? '');
      throw err;
    });
    if (input.budget !== undefined || (before !== undefined && before !== agent.name && agent.budget)) {
      this.budgetChanged(tenantId, before && before !== agent.name ? [before, agent.name] : [agent.name]);
    }
    return agent;
  }

  /**
   * Deletes an agent no team and no other agent refers to: a team member or entry, or a handoff
   * target, would otherwise be left pointing at nothing (409 naming them). `evenIfUsed` is for undoing
   * a set of agents made together (a generated team, whose members name each other).
   */
  async delete(
    tenantId: string,
    id: string,
    who: Actor,
    viewer?: Viewer,
    { evenIfUsed = false } = {},
  ): Promise<void> {
    if (viewer) await this.get(tenantId, id, viewer);
    const gone = await this.db.transaction(async (tx) => {
      const users = await tx.query<User & { agent: string }>(
        `select 'team' as kind, s.id, s.name, null as how, a.name as agent
           from agents a join multi_agent_specs s on s.tenant_id = a.tenant_id
            and (s.members ? a.id::text or s.entry_agent_id = a.id)
          where a.tenant_id = $1 and a.id = $2
         union all
         select 'agent', o.id, o.name, 'hands off to it', a.name
           from agents a join agents o on o.tenant_id = a.tenant_id and o.id <> a.id and o.handoffs ? a.name
          where a.tenant_id = $1 and a.id = $2
         order by 1 desc, 3`,
        [tenantId, id],
      );
      if (!evenIfUsed)
        refuseWhileUsed(
          `agent ${users[0]?.agent}`,
          users.map(({ agent: _, how, ...u }) => ({ ...u, ...(how && { how }) })),
        );
      const [row] = await tx.query<{ name: string; budget: BudgetLimits | null }>(
        'delete from agents where tenant_id = $1 and id = $2 returning name, budget',
        [tenantId, id],
      );
      if (!row) throw notFound('agent', id);
      await writeJournal(tx, who, { action: 'agent.delete', target: id });
      return row;
    });
    if (gone.budget) this.budgetChanged(tenantId, [gone.name]);
  }

  /** Which of `ids` are not agents of this tenant. */
  async missing(tenantId: string, ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.query<{ id: string }>(
      'select id from agents where tenant_id = $1 and id = any($2::uuid[])',
      [tenantId, ids],
    );
    const found = new Set(rows.map((r) => r.id));
    return ids.filter((id) => !found.has(id));
  }
}
