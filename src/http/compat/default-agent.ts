import type { FastifyRequest } from 'fastify';
import type { AgentService } from '../../agents/agents.ts';
import type { Agent } from '../../agents/schema.ts';
import { AppError, isNotFound } from '../../errors.ts';
import { actorOf, principalOf, viewerOf } from '../caller.ts';

/**
 * The agent a compatibility call runs on: the one it names (id or name), else the configured
 * default (`compat.default_agent`), which is made from the basic template on first use, so a client
 * that names no agent works against a fresh install. Another user's private agent is not found
 * (404), as over /v1.
 */
export async function agentFor(
  agents: AgentService,
  req: FastifyRequest,
  named: unknown,
  defaultName: string,
): Promise<Agent> {
  const { tenantId } = principalOf(req);
  if (typeof named === 'string' && named) return agents.resolve(tenantId, named, viewerOf(req));
  try {
    return await agents.resolve(tenantId, defaultName, viewerOf(req));
  } catch (err) {
    if (!isNotFound(err)) throw err;
    // Taken meanwhile, or the default is another user's private agent: not found for this caller.
    return agents
      .create(tenantId, { name: defaultName, template_id: 'basic-assistant' }, actorOf(req))
      .catch((made: unknown) => {
        if (made instanceof AppError && made.code === 'conflict')
          return agents.resolve(tenantId, defaultName, viewerOf(req));
        throw made;
      });
  }
}
