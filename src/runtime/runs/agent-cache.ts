import type { Agent } from '../../agents/schema.ts';

/**
 * Agent configs remembered between turns, so a turn does not read its agent every time. Nothing here
 * expires: each run's first statement checks that the agent still has the remembered version (see
 * run-begin.ts), in this process or any other, and the runtime reads it afresh when it does not.
 */
export class AgentCache {
  private readonly agents = new Map<string, Agent>();

  constructor(
    private readonly source: { get(tenantId: string, id: string): Promise<Agent> },
    private readonly max = 1000,
  ) {}

  /** The remembered config, or (`fresh`, or not remembered) the stored one; 404 when there is none. */
  async get(tenantId: string, id: string, fresh = false): Promise<Agent> {
    const key = `${tenantId}:${id}`;
    const known = fresh ? undefined : this.agents.get(key);
    if (known) return known;
    this.agents.delete(key);
    const agent = await this.source.get(tenantId, id);
    // Map order is insertion order: past the bound, the oldest entry goes.
    if (this.agents.size >= this.max) this.agents.delete(this.agents.keys().next().value!);
    this.agents.set(key, agent);
    return agent;
  }
}
