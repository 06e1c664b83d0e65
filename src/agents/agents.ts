import {
  assertMayChangeVisibility,
  canSee,
  type Viewer,
  visibleParam,
  visibleSql,
} from '../auth/ownership.ts';
import type { BudgetLimits } from '../config/tenant-policy.ts';
import type { Db } from '../db/db.ts';
import { newId } from '../db/ids.ts';
import { listPage, type Page } from '../db/page.ts';
import { patchSet } from '../db/patch.ts';
import { AppError, isUniqueViolation, notFound } from '../errors.ts';
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
const jsonColumns = ['tools', 'skills', 'knowledge', 'task_types', 'handoffs', 'metadata', 'budget'] as const;
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
export type BudgetChanged = (tenantId: string, names: string[]) => void;

const withoutUndefined = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

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
    const created = await this.db.transaction(async (tx) => {
      try {
        const [row] = await tx.query<AgentRow>(
          `insert into agents (id, tenant_id, ${allColumns.join(', ')}, owner)
           values ($1, $2, ${placeholders.join(', ')}, $${allColumns.length + 3}) returning *`,
          [agent.id, tenantId, ...params, owner ?? null],
        );
        await writeJournal(tx, who, { action: 'agent.create', target: agent.id, data: { name: agent.name } });
        return toAgent(row!);
      } catch (err) {
        if (isUniqueViolation(err))
          throw new AppError('conflict', `an agent named ${agent.name} already exists`);
        throw err;
      }
    });
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

  /** The id of the agent `ref` names (an id is taken as it is, without a look-up). */
  async idOf(tenantId: string, ref: string, viewer?: Viewer): Promise<string> {
    return isAgentId(ref) ? ref : (await this.resolve(tenantId, ref, viewer)).id;
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

  /** Changes only the fields present in `input`, and bumps the version. With a viewer, `budget` needs admin. */
  async update(
    tenantId: string,
    id: string,
    input: UpdateAgentInput,
    who: Actor,
    viewer?: Viewer,
  ): Promise<Agent> {
    if (viewer) {
      const current = await this.get(tenantId, id, viewer);
      if (input.visibility !== undefined) assertMayChangeVisibility(viewer, current, `agent ${current.name}`);
      assertMaySetBudget(viewer, input, `agent ${current.name}`);
    }
    await this.checkRuntimeUrl(tenantId, input.runtime_url);
    const set = patchSet(input, { plain: plainColumns, json: jsonColumns }, 3);
    if (!set.sql) return this.get(tenantId, id);
    const { agent, before } = await this.db.transaction(async (tx) => {
      try {
        // The name before a rename: the gateway's cache of own budgets is keyed by name.
        const [old] =
          input.name !== undefined
            ? await tx.query<{ name: string }>(
                'select name from agents where tenant_id = $1 and id = $2 for update',
                [tenantId, id],
              )
            : [];
        const [row] = await tx.query<AgentRow>(
          `update agents set ${set.sql}, version = version + 1, updated_at = now()
           where tenant_id = $1 and id = $2 returning *`,
          [tenantId, id, ...set.params],
        );
        if (!row) throw notFound('agent', id);
        await writeJournal(tx, who, {
          action: 'agent.update',
          target: id,
          data: { fields: Object.keys(input), ...(input.budget !== undefined && { budget: input.budget }) },
        });
        return { agent: toAgent(row), before: old?.name };
      } catch (err) {
        if (isUniqueViolation(err))
          throw new AppError('conflict', `an agent named ${input.name} already exists`);
        throw err;
      }
    });
    if (input.budget !== undefined || (before !== undefined && before !== agent.name && agent.budget)) {
      this.budgetChanged(tenantId, before && before !== agent.name ? [before, agent.name] : [agent.name]);
    }
    return agent;
  }

  async delete(tenantId: string, id: string, who: Actor, viewer?: Viewer): Promise<void> {
    if (viewer) await this.get(tenantId, id, viewer);
    const gone = await this.db.transaction(async (tx) => {
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
