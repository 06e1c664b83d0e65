import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AgentService } from '../../agents/agents.ts';
import { agentRef } from '../../agents/schema.ts';
import { principalOf, viewerOf } from '../caller.ts';

export const idParams = z.object({ id: z.uuid() }).strict();

export const agentParams = z.object({ id: agentRef }).strict();

export const errorResponse = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  request_id: z.string(),
});

/** The error answers every authenticated route can give, for the OpenAPI document. */
export const authErrors = { 400: errorResponse, 401: errorResponse, 403: errorResponse, 404: errorResponse };

/** The one error every route can give, public ones too: the host guard's 403 (plugins/host-guard.ts). */
export const hostGuardErrors = { 403: errorResponse };

/** OpenAI's error body, as the OpenAI-compatible doors answer (doors/openai/errors.ts). */
export const openaiErrorResponse = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string().nullable(),
  }),
  request_id: z.string(),
});

/** Anthropic's error body, as the Messages door answers (anthropic/errors.ts). */
export const anthropicErrorResponse = z.object({
  type: z.literal('error'),
  error: z.object({ type: z.string(), message: z.string() }),
  request_id: z.string(),
});

/**
 * The errors of a model door, in its vendor's body: bad input, credentials, the host guard, an
 * unknown model, a body too large, limits, and the upstream's failures. Generated clients get
 * their error types from these.
 */
export const modelDoorErrors = <T extends z.ZodType>(body: T) => ({
  400: body,
  401: body,
  403: body,
  404: body,
  413: body,
  429: body,
  502: body,
  503: body,
  504: body,
});

/** A 2xx answer in a vendor's or protocol's own shape, documented as an object without its fields. */
export const wireObject = (description: string) => z.looseObject({}).describe(description);

/** A Server-Sent Events answer (text/event-stream): its events are described in the summary. */
export const eventStream = (description: string) => z.string().describe(description);

/** The id of the agent a request names by id or name; another user's private agent is not found. */
export function agentIdOf(agents: AgentService, req: FastifyRequest, ref: string): Promise<string> {
  return agents.idOf(principalOf(req).tenantId, ref, viewerOf(req));
}

/**
 * The id of an agent that exists in the caller's tenant and that the caller may see: for routes that
 * write something about the agent. `agentIdOf` takes an id as it is (filters may name a deleted
 * agent), which would let a write land on another tenant's agent id or on none.
 */
export async function existingAgentIdOf(
  agents: AgentService,
  req: FastifyRequest,
  ref: string,
): Promise<string> {
  return (await agents.resolve(principalOf(req).tenantId, ref, viewerOf(req))).id;
}

/**
 * The agent a request names, with the version it pins: `name@3` or `name@production` in the
 * reference, or `version` (a body's `agent_version`); both, disagreeing, is a 400. Another user's
 * private agent is not found.
 */
export function agentPinOf(
  agents: AgentService,
  req: FastifyRequest,
  ref: string,
  version?: number,
): Promise<{ agentId: string; version?: number }> {
  return agents.pinOf(principalOf(req).tenantId, ref, viewerOf(req), version);
}
