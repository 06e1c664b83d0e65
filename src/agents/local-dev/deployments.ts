import { createHash } from 'node:crypto';
import type { Db } from '../../db/db.ts';
import { newId } from '../../db/ids.ts';
import { AppError, notFound } from '../../errors.ts';
import { type Actor, writeJournal } from '../../events/journal.ts';
import type { AgentService } from '../agents.ts';
import type { Agent } from '../schema.ts';
import { BundleBuildError, checkBundleSyntax } from './bundle.ts';
import type { Deployment, LocalDevInput } from './schema.ts';

/** Loads a bundle where agents run, to prove it exports `handle`; throws a 422 AppError when it does not. */
export interface BundleLoader {
  check(bundle: string): Promise<void>;
}

interface DeploymentRow {
  id: string;
  agent_id: string;
  version: number;
  sha256: string;
  size_bytes: number;
  created_by: string | null;
  created_at: Date;
}

const toDeployment = (r: DeploymentRow, current: boolean): Deployment => ({
  id: r.id,
  agent_id: r.agent_id,
  version: r.version,
  sha256: r.sha256,
  size_bytes: r.size_bytes,
  current,
  created_by: r.created_by,
  created_at: r.created_at.toISOString(),
});

/**
 * Local-dev agents and their deployments. A bundle is checked before it is stored: it must build
 * (parse as an ES module) and load in a sandbox exporting `handle`; otherwise 422 with the reason,
 * and nothing changes. A stored bundle gets the next version and serves from then on.
 */
export class DeploymentService {
  constructor(
    private readonly db: Db,
    private readonly agents: AgentService,
    private readonly loader: BundleLoader,
  ) {}

  /**
   * Creates an agent whose code comes from a local project (`source: local`, `env: pool`), owned by
   * `owner` (the deploying user), as POST /v1/agents makes it.
   */
  createAgent(tenantId: string, input: LocalDevInput, who: Actor, owner: string | undefined): Promise<Agent> {
    return this.agents.create(tenantId, { ...input, source: 'local', env: 'pool' }, who, owner);
  }

  async deploy(tenantId: string, agentId: string, bundle: string, who: Actor): Promise<Deployment> {
    const agent = await this.agents.get(tenantId, agentId);
    if (agent.env !== 'pool') {
      throw new AppError(
        'unprocessable',
        `agent ${agent.name} has env ${agent.env}; deployed bundles run for env pool agents only`,
      );
    }
    try {
      await checkBundleSyntax(bundle);
    } catch (err) {
      if (err instanceof BundleBuildError)
        throw new AppError('unprocessable', `the bundle did not build: ${err.message}`, {
          details: { stage: 'build' },
        });
      throw err;
    }
    await this.loader.check(bundle);
    const sha256 = createHash('sha256').update(bundle).digest('hex');
    return this.db.transaction(async (tx) => {
      // The agent's row lock orders concurrent deploys, so versions never collide.
      const locked = await tx.query('select 1 from agents where tenant_id = $1 and id = $2 for update', [
        tenantId,
        agentId,
      ]);
      if (locked.length === 0) throw notFound('agent', agentId);
      const [row] = await tx.query<DeploymentRow>(
        `insert into agent_deployments (id, tenant_id, agent_id, version, bundle, sha256, size_bytes, created_by)
         select $1, $2, $3, coalesce(max(version), 0) + 1, $4, $5, $6, $7
           from agent_deployments where agent_id = $3
         returning id, agent_id, version, sha256, size_bytes, created_by, created_at`,
        [newId(), tenantId, agentId, bundle, sha256, Buffer.byteLength(bundle), who.actor],
      );
      await writeJournal(tx, who, {
        action: 'agent.deploy',
        target: agentId,
        data: { version: row!.version, sha256 },
      });
      return toDeployment(row!, true);
    });
  }

  async list(tenantId: string, agentId: string): Promise<Deployment[]> {
    await this.agents.get(tenantId, agentId); // 404 for another tenant's agent
    const rows = await this.db.query<DeploymentRow>(
      `select id, agent_id, version, sha256, size_bytes, created_by, created_at
         from agent_deployments where tenant_id = $1 and agent_id = $2 order by version desc`,
      [tenantId, agentId],
    );
    return rows.map((r, i) => toDeployment(r, i === 0));
  }

  /** The version that serves the agent now, without reading its bundle. */
  async currentVersion(tenantId: string, agentId: string): Promise<number | undefined> {
    const [row] = await this.db.query<{ version: number }>(
      'select max(version) as version from agent_deployments where tenant_id = $1 and agent_id = $2',
      [tenantId, agentId],
    );
    return row?.version ?? undefined;
  }

  /** The bundle that serves the agent now, if any. */
  async current(tenantId: string, agentId: string): Promise<{ version: number; bundle: string } | undefined> {
    const [row] = await this.db.query<{ version: number; bundle: string }>(
      `select version, bundle from agent_deployments
        where tenant_id = $1 and agent_id = $2 order by version desc limit 1`,
      [tenantId, agentId],
    );
    return row;
  }
}
