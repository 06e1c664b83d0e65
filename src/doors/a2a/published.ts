import { type Agent, isAgentId } from '../../agents/schema.ts';
import { ROOT_TENANT } from '../../auth/principal.ts';
import { isNotFound, notFound } from '../../errors.ts';
import type { Services } from '../../http/services.ts';

/** Most agents listed where no card is (`/.well-known/agent-card.json` without a root agent). */
export const maxListed = 200;

/**
 * Which agents are served over A2A: those with `visibility: public`, and every agent of a tenant
 * whose policy says `a2a.publish_all_agents`. Cards are for discovery, so these look across tenants.
 */
export class PublishedAgents {
  constructor(private readonly s: Pick<Services, 'agents' | 'tenants' | 'policies'>) {}

  async isPublished(agent: Agent): Promise<boolean> {
    if (agent.visibility === 'public') return true;
    const tenant = await this.s.tenants.find(agent.tenant_id);
    return !!tenant && this.s.policies.get(tenant.name).a2a.publish_all_agents;
  }

  /** A published agent by id in any tenant, or by name in the default tenant: 404 otherwise. */
  async get(ref: string): Promise<Agent> {
    // Only "no such agent" is a 404: a store that cannot answer stays its own error (503).
    let agent = isAgentId(ref) ? await this.s.agents.findById(ref) : undefined;
    if (!agent) {
      const root = await this.s.tenants.find(ROOT_TENANT);
      agent = root
        ? await this.s.agents.resolve(root.id, ref).catch((err: unknown) => {
            if (isNotFound(err)) return undefined;
            throw err;
          })
        : undefined;
    }
    if (!agent || !(await this.isPublished(agent))) throw notFound('agent', ref);
    return agent;
  }

  /** The published agents, by name, for the 404 that points to their cards. */
  async list(): Promise<Array<Pick<Agent, 'id' | 'name' | 'description'>>> {
    const everything = (await this.s.tenants.all())
      .filter((t) => this.s.policies.get(t.name).a2a.publish_all_agents)
      .map((t) => t.id);
    return this.s.agents.published(everything, maxListed);
  }
}
