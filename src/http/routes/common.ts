import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AgentService } from '../../agents/agents.ts';
import { agentRef } from '../../agents/schema.ts';
import { splitVersionPin } from '../../agents/version-schema.ts';
import { AppError } from '../../errors.ts';
import { principalOf, viewerOf } from '../caller.ts';

export const idParams = z.object({ id: z.uuid() }).strict();

export const agentParams = z.object({ id: agentRef }).strict();

export const errorResponse = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  request_id: z.string(),
});

/** The error answers every authenticated route can give, for the OpenAPI document. */
export const authErrors = { 400: errorResponse, 401: errorResponse, 403: errorResponse, 404: errorResponse };

/** The id of the agent a request names by id or name; another user's private agent is not found. */
export function agentIdOf(agents: AgentService, req: FastifyRequest, ref: string): Promise<string> {
  return agents.idOf(principalOf(req).tenantId, ref, viewerOf(req));
}

/**
 * The agent a request names, with the version it pins: `name@3` in the reference, or `version` (a
 * body's `agent_version`); both, disagreeing, is a 400. Another user's private agent is not found.
 */
export async function agentPinOf(
  agents: AgentService,
  req: FastifyRequest,
  ref: string,
  version?: number,
): Promise<{ agentId: string; version?: number }> {
  const split = splitVersionPin(ref);
  if (split.version !== undefined && version !== undefined && split.version !== version) {
    throw new AppError(
      'validation_error',
      `${ref} pins version ${split.version} but agent_version is ${version}: send one of them`,
    );
  }
  const agentId = await agents.idOf(principalOf(req).tenantId, split.ref, viewerOf(req));
  const pin = split.version ?? version;
  return pin === undefined ? { agentId } : { agentId, version: pin };
}
