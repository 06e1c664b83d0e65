import type { Db } from '../db/db.ts';
import { newId } from '../db/ids.ts';
import { listPage, type Page } from '../db/page.ts';
import { patchSet } from '../db/patch.ts';
import { AppError, isUniqueViolation, notFound } from '../errors.ts';
import { type Actor, writeJournal } from '../events/journal.ts';
import { assertOutboundUrl } from '../net/ssrf.ts';
import type { Agent, CreateAgentInput, ListAgentsQuery, UpdateAgentInput } from './schema.ts';
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
const jsonColumns = ['tools', 'skills', 'knowledge', 'task_types', 'handoffs', 'metadata'] as const;
const allColumns = [...plainColumns, ...jsonColumns];

const withoutUndefined = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

export class AgentService {
  constructor(
    private readonly db: Db,
    private readonly templates: TemplateService,
    private readonly defaultModel: string,
    /** Whether the tenant's policy lets `runtime_url` point at a private address. */
    private readonly allowPrivateEgress: (tenantId: string) => Promise<boolean> = async () => false,
  ) {}

  /** A remote agent's runtime URL obeys the SSRF rules when it is set (and again at every call). */
  private async checkRuntimeUrl(tenantId: string, url: string | null | undefined): Promise<void> {
    if (url) assertOutboundUrl(url, await this.allowPrivateEgress(tenantId), 'runtime_url');
  }

  /** Creates an agent; with `template_id`, template values fill every field the request did not send. */
  async create(tenantId: string, input: CreateAgentInput, who: Actor): Promise<Agent> {
    await this.checkRuntimeUrl(tenantId, input.runtime_url);
    const base: Omit<Agent, 'id' | 'tenant_id' | 'version' | 'created_at' | 'updated_at' | 'name'> = {
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
      visibility: 'private',
      metadata: {},
      source: 'basic',
      template_id: null,
      runtime_url: null,
      multi_agent_id: null,
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
      jsonColumns.includes(c as never) ? JSON.stringify(agent[c]) : agent[c],
    );
    const placeholders = allColumns.map(
      (c, i) => `$${i + 3}${jsonColumns.includes(c as never) ? '::jsonb' : ''}`,
    );
    return this.db.transaction(async (tx) => {
      try {
        const [row] = await tx.query<AgentRow>(
          `insert into agents (id, tenant_id, ${allColumns.join(', ')})
           values ($1, $2, ${placeholders.join(', ')}) returning *`,
          [agent.id, tenantId, ...params],
        );
        await writeJournal(tx, who, { action: 'agent.create', target: agent.id, data: { name: agent.name } });
        return toAgent(row!);
      } catch (err) {
        if (isUniqueViolation(err))
          throw new AppError('conflict', `an agent named ${agent.name} already exists`);
        throw err;
      }
    });
  }

  async get(tenantId: string, id: string): Promise<Agent> {
    const [row] = await this.db.query<AgentRow>('select * from agents where tenant_id = $1 and id = $2', [
      tenantId,
      id,
    ]);
    if (!row) throw notFound('agent', id);
    return toAgent(row);
  }

  /** An agent by id in whichever tenant holds it (A2A discovery of published agents); undefined when none. */
  async findById(id: string): Promise<Agent | undefined> {
    const [row] = await this.db.query<AgentRow>('select * from agents where id = $1', [id]);
    return row && toAgent(row);
  }

  /**
   * An agent by id or by name: names are matched exactly first, then case-insensitively (clients of
   * the earlier systems address agents as `LUMINA` or `lumina`).
   */
  async resolve(tenantId: string, ref: string): Promise<Agent> {
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref))
      return this.get(tenantId, ref);
    const [row] = await this.db.query<AgentRow>(
      `select * from agents where tenant_id = $1 and lower(name) = lower($2)
       order by (name = $2) desc, created_at limit 1`,
      [tenantId, ref],
    );
    if (!row) throw notFound('agent', ref);
    return toAgent(row);
  }

  async getByName(tenantId: string, name: string): Promise<Agent> {
    const [row] = await this.db.query<AgentRow>('select * from agents where tenant_id = $1 and name = $2', [
      tenantId,
      name,
    ]);
    if (!row) throw notFound('agent', name);
    return toAgent(row);
  }

  async list(tenantId: string, q: ListAgentsQuery): Promise<Page<Agent>> {
    // Escape LIKE wildcards so a name filter matches literally.
    const like = q.name === undefined ? null : `%${q.name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return listPage(
      this.db,
      q,
      {
        select: '*',
        from: `from agents where tenant_id = $1 and ($2::text is null or name ilike $2)
               and ($3::text is null or source = $3)`,
        orderBy: 'created_at desc, id desc',
        params: [tenantId, like, q.source ?? null],
      },
      toAgent,
    );
  }

  /** Changes only the fields present in `input`, and bumps the version. */
  async update(tenantId: string, id: string, input: UpdateAgentInput, who: Actor): Promise<Agent> {
    await this.checkRuntimeUrl(tenantId, input.runtime_url);
    const set = patchSet(input, { plain: plainColumns, json: jsonColumns }, 3);
    if (!set.sql) return this.get(tenantId, id);
    return this.db.transaction(async (tx) => {
      try {
        const [row] = await tx.query<AgentRow>(
          `update agents set ${set.sql}, version = version + 1, updated_at = now()
           where tenant_id = $1 and id = $2 returning *`,
          [tenantId, id, ...set.params],
        );
        if (!row) throw notFound('agent', id);
        await writeJournal(tx, who, {
          action: 'agent.update',
          target: id,
          data: { fields: Object.keys(input) },
        });
        return toAgent(row);
      } catch (err) {
        if (isUniqueViolation(err))
          throw new AppError('conflict', `an agent named ${input.name} already exists`);
        throw err;
      }
    });
  }

  async delete(tenantId: string, id: string, who: Actor): Promise<void> {
    await this.db.transaction(async (tx) => {
      const rows = await tx.query('delete from agents where tenant_id = $1 and id = $2 returning id', [
        tenantId,
        id,
      ]);
      if (rows.length === 0) throw notFound('agent', id);
      await writeJournal(tx, who, { action: 'agent.delete', target: id });
    });
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
