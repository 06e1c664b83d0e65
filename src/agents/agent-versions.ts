import type { Viewer } from '../auth/ownership.ts';
import type { Db } from '../db/db.ts';
import type { Page, PageQuery } from '../db/page.ts';
import type { Actor } from '../events/journal.ts';
import type { AgentService } from './agents.ts';
import type { Agent, UpdateAgentInput } from './schema.ts';
import { diffVersions } from './version-diff.ts';
import type { AgentVersion, VersionDiff } from './version-schema.ts';
import { configFields } from './version-schema.ts';
import { getVersion, listVersions } from './versions.ts';

/**
 * An agent's history: its versions listed, read, compared and rolled back to. The versions
 * themselves are written by `AgentService.create` and `update`, the one door every change of an
 * agent goes through (API, CLI, console, compat routes, packs, generated teams). Each call takes
 * the agent by id or name and the viewer: another user's private agent has no versions to show.
 */
export class AgentVersionService {
  constructor(
    private readonly db: Db,
    private readonly agents: AgentService,
  ) {}

  async list(tenantId: string, ref: string, q: PageQuery, viewer?: Viewer): Promise<Page<AgentVersion>> {
    const agent = await this.agents.resolve(tenantId, ref, viewer);
    return listVersions(this.db, tenantId, agent.id, q);
  }

  async get(tenantId: string, ref: string, version: number, viewer?: Viewer): Promise<AgentVersion> {
    const agent = await this.agents.resolve(tenantId, ref, viewer);
    return getVersion(this.db, tenantId, agent.id, version);
  }

  /** Field by field from `from` to `to` (default: the latest). */
  async diff(
    tenantId: string,
    ref: string,
    from: number,
    to: number | undefined,
    viewer?: Viewer,
  ): Promise<VersionDiff> {
    const agent = await this.agents.resolve(tenantId, ref, viewer);
    const [a, b] = await Promise.all([
      getVersion(this.db, tenantId, agent.id, from),
      getVersion(this.db, tenantId, agent.id, to ?? agent.version),
    ]);
    return diffVersions(agent.id, a, b);
  }

  /**
   * A new version equal to `version`: the fields that differ from the present config are changed
   * through `AgentService.update`, so its rules hold (a budget is an admin's to change, the owner's
   * to make private, the name must be free). Rolling back to the present config still makes one.
   */
  async rollback(
    tenantId: string,
    ref: string,
    version: number,
    who: Actor,
    viewer?: Viewer,
    message?: string,
  ): Promise<Agent> {
    const agent = await this.agents.resolve(tenantId, ref, viewer);
    const target = await getVersion(this.db, tenantId, agent.id, version);
    const present = agent as unknown as Record<string, unknown>;
    const wanted = target.config as unknown as Record<string, unknown>;
    const changed: Record<string, unknown> = {};
    for (const field of configFields) {
      if (field in wanted && JSON.stringify(wanted[field]) !== JSON.stringify(present[field])) {
        changed[field] = wanted[field];
      }
    }
    return this.agents.update(tenantId, agent.id, changed as UpdateAgentInput, who, viewer, {
      note: message ?? `rollback to version ${version}`,
      always: true,
    });
  }
}
