import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { agentSchema, multiAgentSchema } from '../../agents/schema.ts';
import type { Services } from '../../app.ts';
import { generateBody } from '../../runtime/generator.ts';
import { actorOf, principalOf } from '../plugins/auth.ts';
import { callerOf } from './chat.ts';
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
  };
