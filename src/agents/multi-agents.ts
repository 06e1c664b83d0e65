import type { Db } from '../db/db.ts';
import { newId } from '../db/ids.ts';
import { listPage, type Page, type PageQuery } from '../db/page.ts';
import { patchSet } from '../db/patch.ts';
import { AppError, isUniqueViolation, notFound, refuseWhileUsed, type User } from '../errors.ts';
import { type Actor, writeJournal } from '../events/journal.ts';
import type { AgentService } from './agents.ts';
import { findCycle } from './dag.ts';
import {
  type CreateMultiAgentInput,
  isAgentId,
  type MultiAgentSpec,
  type UpdateMultiAgentInput,
} from './schema.ts';
import { splitVersionPin } from './version-schema.ts';

interface SpecRow extends Omit<MultiAgentSpec, 'created_at' | 'updated_at'> {
  created_at: Date;
  updated_at: Date;
}

const toSpec = (r: SpecRow): MultiAgentSpec => ({
  ...r,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

type SpecShape = Pick<MultiAgentSpec, 'kind' | 'members' | 'entry_agent_id' | 'edges'>;

export class MultiAgentService {
  constructor(
    private readonly db: Db,
    private readonly agents: AgentService,
  ) {}

  /**
   * Members, entry and edges as agent ids: a client may name agents by id or name. Names that are
   * no agent of the tenant are refused together (400), as unknown ids are by `validate`.
   */
  private async ids<T extends Partial<Pick<CreateMultiAgentInput, 'members' | 'entry_agent_id' | 'edges'>>>(
    tenantId: string,
    input: T,
  ): Promise<T & { member_versions?: Record<string, number> }> {
    const unknown = new Set<string>();
    const pins: Record<string, number> = {};
    const id = async (pinned: string) => {
      const { ref, version, label } = splitVersionPin(pinned);
      // A spec keeps numbers: a label followed would change the team under its runs unseen.
      if (label !== undefined)
        throw new AppError(
          'validation_error',
          `${pinned}: a team pins its members to version numbers, not labels (e.g. ${ref}@3)`,
        );
      const found = await this.agents.idOf(tenantId, ref).catch((err: AppError) => {
        if (err.code !== 'not_found') throw err;
        unknown.add(ref);
        return undefined;
      });
      if (!found) return ref;
      if (version !== undefined) {
        if (pins[found] !== undefined && pins[found] !== version)
          throw new AppError(
            'validation_error',
            `agent ${ref} is pinned to versions ${pins[found]} and ${version}`,
          );
        pins[found] = version;
      }
      return found;
    };
    const out = {
      ...input,
      ...(input.members && { members: await Promise.all(input.members.map(id)) }),
      ...(input.entry_agent_id && { entry_agent_id: await id(input.entry_agent_id) }),
      ...(input.edges && {
        edges: await Promise.all(
          input.edges.map(async (e) => ({ from: await id(e.from), to: await id(e.to) })),
        ),
      }),
    };
    if (unknown.size > 0)
      throw new AppError('validation_error', `not agents of this tenant: ${[...unknown].join(', ')}`, {
        details: [...unknown].map((ref) => ({ path: 'members', message: `no agent ${ref}` })),
      });
    // A pin must name a version the agent has (the 404 names those it has).
    for (const [agentId, version] of Object.entries(pins)) await this.agents.at(tenantId, agentId, version);
    return input.members ? { ...out, member_versions: pins } : out;
  }

  async create(tenantId: string, sent: CreateMultiAgentInput, who: Actor): Promise<MultiAgentSpec> {
    const input = await this.ids(tenantId, sent);
    const entry = input.entry_agent_id ?? input.members[0];
    if (!entry)
      throw new AppError(
        'validation_error',
        'a multi-agent spec needs an entry_agent_id or at least one member',
      );
    const spec = {
      description: '',
      edges: [],
      config: {},
      member_versions: {},
      ...input,
      entry_agent_id: entry,
    };
    await this.validate(tenantId, spec);
    const id = newId();
    return this.db.transaction(async (tx) => {
      try {
        const [row] = await tx.query<SpecRow>(
          `insert into multi_agent_specs (id, tenant_id, name, description, kind, members, entry_agent_id, edges, config,
                                          member_versions)
           values ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::jsonb, $9::jsonb, $10::jsonb) returning *`,
          [
            id,
            tenantId,
            spec.name,
            spec.description,
            spec.kind,
            JSON.stringify(spec.members),
            spec.entry_agent_id,
            JSON.stringify(spec.edges),
            JSON.stringify(spec.config),
            JSON.stringify(spec.member_versions),
          ],
        );
        await writeJournal(tx, who, { action: 'multi_agent.create', target: id, data: { name: spec.name } });
        return toSpec(row!);
      } catch (err) {
        if (isUniqueViolation(err))
          throw new AppError('conflict', `a multi-agent spec named ${spec.name} already exists`);
        throw err;
      }
    });
  }

  async get(tenantId: string, id: string): Promise<MultiAgentSpec> {
    const [row] = await this.db.query<SpecRow>(
      'select * from multi_agent_specs where tenant_id = $1 and id = $2',
      [tenantId, id],
    );
    if (!row) throw notFound('multi-agent spec', id);
    return toSpec(row);
  }

  /** A spec by id or by name. */
  async resolve(tenantId: string, ref: string): Promise<MultiAgentSpec> {
    if (isAgentId(ref)) return this.get(tenantId, ref);
    const [row] = await this.db.query<SpecRow>(
      'select * from multi_agent_specs where tenant_id = $1 and name = $2',
      [tenantId, ref],
    );
    if (!row) throw notFound('multi-agent spec', ref);
    return toSpec(row);
  }

  async list(tenantId: string, q: PageQuery): Promise<Page<MultiAgentSpec>> {
    return listPage(
      this.db,
      q,
      {
        select: '*',
        from: 'from multi_agent_specs where tenant_id = $1',
        orderBy: 'created_at desc, id desc',
        params: [tenantId],
      },
      toSpec,
    );
  }

  async update(
    tenantId: string,
    id: string,
    sent: UpdateMultiAgentInput,
    who: Actor,
  ): Promise<MultiAgentSpec> {
    const current = await this.get(tenantId, id);
    const input = await this.ids(tenantId, sent);
    if (Object.values(input).every((v) => v === undefined)) return current;
    const next = { ...current, ...input };
    // Replacing the members without naming an entry keeps the old entry only if it is still a member.
    if (input.members && !input.entry_agent_id && !input.members.includes(current.entry_agent_id)) {
      const first = input.members[0];
      if (!first) throw new AppError('validation_error', 'a multi-agent spec needs at least one member');
      next.entry_agent_id = first;
    }
    await this.validate(tenantId, next);
    const changed = { ...input, entry_agent_id: next.entry_agent_id };
    const set = patchSet(
      changed,
      {
        plain: ['name', 'description', 'kind', 'entry_agent_id'],
        json: ['members', 'edges', 'config', 'member_versions'],
      },
      3,
    );
    return this.db.transaction(async (tx) => {
      try {
        const [row] = await tx.query<SpecRow>(
          `update multi_agent_specs set ${set.sql}, version = version + 1, updated_at = now()
           where tenant_id = $1 and id = $2 returning *`,
          [tenantId, id, ...set.params],
        );
        if (!row) throw notFound('multi-agent spec', id);
        await writeJournal(tx, who, {
          action: 'multi_agent.update',
          target: id,
          data: { fields: Object.keys(input) },
        });
        return toSpec(row);
      } catch (err) {
        if (isUniqueViolation(err))
          throw new AppError('conflict', `a multi-agent spec named ${input.name} already exists`);
        throw err;
      }
    });
  }

  /** Deletes a team no agent stands for (an agent with `env: multi_agent` runs it): 409 naming them. */
  async delete(tenantId: string, id: string, who: Actor): Promise<void> {
    await this.db.transaction(async (tx) => {
      const users = await tx.query<User & { team: string }>(
        `select 'agent' as kind, a.id, a.name, 'runs it' as how, s.name as team
           from multi_agent_specs s join agents a on a.tenant_id = s.tenant_id and a.multi_agent_id = s.id
          where s.tenant_id = $1 and s.id = $2 order by a.name`,
        [tenantId, id],
      );
      refuseWhileUsed(
        `team ${users[0]?.team}`,
        users.map(({ team: _, ...u }) => u),
      );
      const rows = await tx.query(
        'delete from multi_agent_specs where tenant_id = $1 and id = $2 returning id',
        [tenantId, id],
      );
      if (rows.length === 0) throw notFound('multi-agent spec', id);
      await writeJournal(tx, who, { action: 'multi_agent.delete', target: id });
    });
  }

  /** Members exist in the tenant, the entry is a member, edges join members, and a DAG has no cycle. */
  private async validate(tenantId: string, spec: SpecShape): Promise<void> {
    if (spec.members.length === 0)
      throw new AppError('validation_error', 'a multi-agent spec needs at least one member');
    if (new Set(spec.members).size !== spec.members.length) {
      throw new AppError('validation_error', 'members must not repeat an agent');
    }
    const missing = await this.agents.missing(tenantId, spec.members);
    if (missing.length > 0) {
      throw new AppError('validation_error', `members are not agents of this tenant: ${missing.join(', ')}`, {
        details: { missing },
      });
    }
    if (!spec.members.includes(spec.entry_agent_id)) {
      throw new AppError('validation_error', `entry_agent_id ${spec.entry_agent_id} is not a member`);
    }
    if (spec.kind === 'swarm' && spec.edges.length > 0) {
      throw new AppError(
        'validation_error',
        'edges apply to dag specs only; swarm handoffs come from each agent',
      );
    }
    const outside = spec.edges.flatMap((e) => [e.from, e.to]).filter((id) => !spec.members.includes(id));
    if (outside.length > 0) {
      throw new AppError(
        'validation_error',
        `edges name agents that are not members: ${[...new Set(outside)].join(', ')}`,
      );
    }
    if (spec.kind === 'dag') {
      const cycle = findCycle(spec.members, spec.edges);
      if (cycle) {
        const names = await this.namesOf(tenantId, cycle);
        throw new AppError(
          'validation_error',
          `the DAG has a cycle: ${names.join(' -> ')} (ids: ${cycle.join(' -> ')})`,
          { details: { cycle, names } },
        );
      }
    }
  }

  /** Agent names for an error message; an agent deleted meanwhile shows as its id. Error path only. */
  private async namesOf(tenantId: string, ids: readonly string[]): Promise<string[]> {
    const names = new Map<string, string>();
    for (const id of new Set(ids)) {
      names.set(
        id,
        await this.agents.get(tenantId, id).then(
          (a) => a.name,
          () => id,
        ),
      );
    }
    return ids.map((id) => names.get(id)!);
  }
}
