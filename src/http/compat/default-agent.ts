import type { FastifyRequest } from 'fastify';
import type { AgentService } from '../../agents/agents.ts';
import type { Agent } from '../../agents/schema.ts';
import { AppError } from '../../errors.ts';
import { actorOf, principalOf } from '../plugins/auth.ts';

/**
 * The agent a compatibility call runs on: the one it names (id or name), else the configured
 * default (`compat.default_agent`), which is made from the basic template on first use, so a client
 * that names no agent works against a fresh install.
 */
export async function agentFor(
  agents: AgentService,
  req: FastifyRequest,
  named: unknown,
  defaultName: string,
): Promise<Agent> {
  const { tenantId } = principalOf(req);
  if (typeof named === 'string' && named) return agents.resolve(tenantId, named);
  try {
    return await agents.resolve(tenantId, defaultName);
  } catch (err) {
    if (!(err instanceof AppError && err.code === 'not_found')) throw err;
    return agents.create(tenantId, { name: defaultName, template_id: 'basic-assistant' }, actorOf(req));
  }
}
