import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { generateBody, generatedDraft } from '../../agents/generator.ts';
import { agentSchema, multiAgentSchema } from '../../agents/schema.ts';
import { actorOf, callerOf, principalOf, viewerOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors, errorResponse } from './common.ts';

const generated = z.object({
  agents: z.array(agentSchema),
  multi_agent: multiAgentSchema.nullable(),
  generated_by: z.enum(['model', 'heuristic']),
  model: z.string(),
});

/** Agents (or a team) designed by a model from a plain-language requirement. */
export const generateRoutes =
  ({ generator }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    app.post(
      '/v1/agents/generate',
      {
        config: { auth: 'write' },
        schema: {
          tags: ['agents'],
          summary:
            'Generate one agent or a team (agents + swarm/DAG spec) from a requirement; created with source generated',
          body: generateBody,
          response: {
            201: generated,
            ...authErrors,
            404: errorResponse,
            502: errorResponse,
            504: errorResponse,
          },
        },
      },
      async (req, reply) => {
        const { tenantId, tenantName, keyId, requestId, traceId } = callerOf(req);
        const out = await generator.generate(
          { tenantId, tenantName, keyId, requestId, traceId },
          req.body,
          actorOf(req),
          { owner: principalOf(req).userId },
        );
        return reply.code(201).send(out);
      },
    );

    app.post(
      '/v1/agents/generate/draft',
      {
        config: { auth: 'write' },
        schema: {
          tags: ['agents'],
          summary:
            'Propose one agent or a team from a requirement, to review before saving: nothing is created',
          body: generateBody,
          response: {
            200: z.object({
              draft: generatedDraft,
              generated_by: z.enum(['model', 'heuristic']),
              model: z.string(),
            }),
            ...authErrors,
            404: errorResponse,
            502: errorResponse,
            504: errorResponse,
          },
        },
      },
      async (req) => {
        const { tenantId, tenantName, keyId, requestId, traceId } = callerOf(req);
        return generator.draft({ tenantId, tenantName, keyId, requestId, traceId }, req.body);
      },
    );

    app.post(
      '/v1/agents/generate/save',
      {
        config: { auth: 'write' },
        schema: {
          tags: ['agents'],
          summary: 'Create the agents (and team) of a reviewed draft, all or none',
          body: generatedDraft,
          response: {
            201: generated.omit({ generated_by: true, model: true }),
            ...authErrors,
            409: errorResponse,
          },
        },
      },
      async (req, reply) => {
        const { tenantId } = principalOf(req);
        const out = await generator.save(
          tenantId,
          req.body,
          actorOf(req),
          principalOf(req).userId,
          viewerOf(req),
        );
        return reply.code(201).send(out);
      },
    );
  };
