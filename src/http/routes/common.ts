import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AgentService } from '../../agents/agents.ts';
import { agentRef } from '../../agents/schema.ts';
import { principalOf, viewerOf } from '../plugins/auth.ts';

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
