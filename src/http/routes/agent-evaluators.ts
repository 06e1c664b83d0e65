import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { agentEvaluatorsBody, agentEvaluatorsSchema } from '../../eval/live/live-scoring.ts';
import { principalOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { agentParams, authErrors, existingAgentIdOf } from './common.ts';

const tags = ['agents'];

export const agentEvaluatorRoutes =
  ({ liveScoring, agents }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.put(
      '/v1/agents/:id/evaluators',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: "Attach evaluators that score a sample of the agent's live runs (sample_rate, 0 to 1)",
          params: agentParams,
          body: agentEvaluatorsBody,
          response: { 200: agentEvaluatorsSchema, ...authErrors },
        },
      },
      async (req) =>
        liveScoring.set(
          principalOf(req).tenantId,
          await existingAgentIdOf(agents, req, req.params.id),
          req.body,
        ),
    );

    app.get(
      '/v1/agents/:id/evaluators',
      {
        schema: {
          tags,
          summary: "The evaluators scoring the agent's live runs",
          params: agentParams,
          response: { 200: agentEvaluatorsSchema, ...authErrors },
        },
      },
      async (req) =>
        liveScoring.get(principalOf(req).tenantId, await existingAgentIdOf(agents, req, req.params.id)),
    );

    app.delete(
      '/v1/agents/:id/evaluators',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: "Stop scoring the agent's live runs",
          params: agentParams,
          response: { 204: z.null(), ...authErrors },
        },
      },
      async (req, reply) => {
        await liveScoring.clear(
          principalOf(req).tenantId,
          await existingAgentIdOf(agents, req, req.params.id),
        );
        return reply.code(204).send(null);
      },
    );
  };
