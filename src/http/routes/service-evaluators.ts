import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { agentEvaluatorsBody, serviceEvaluatorsSchema } from '../../eval/live/live-scoring.ts';
import { principalOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors } from './common.ts';

const tags = ['traces'];
/** An ingested app, by its resource's `service.name` (the runs' `service_name`). */
const params = z.object({ service: z.string().min(1).max(200) }).strict();

/**
 * Online evaluators of an app whose traces are ingested (POST /v1/traces): a sample of its runs is
 * scored when each trace's root span arrives, as an agent's live runs are as they end.
 */
export const serviceEvaluatorRoutes =
  ({ liveScoring }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.put(
      '/v1/services/:service/evaluators',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: "Attach evaluators that score a sample of an ingested app's runs (sample_rate, 0 to 1)",
          params,
          body: agentEvaluatorsBody,
          response: { 200: serviceEvaluatorsSchema, ...authErrors },
        },
      },
      async (req) => liveScoring.setService(principalOf(req).tenantId, req.params.service, req.body),
    );

    app.get(
      '/v1/services/:service/evaluators',
      {
        schema: {
          tags,
          summary: "The evaluators scoring an ingested app's runs",
          params,
          response: { 200: serviceEvaluatorsSchema, ...authErrors },
        },
      },
      async (req) => liveScoring.getService(principalOf(req).tenantId, req.params.service),
    );

    app.delete(
      '/v1/services/:service/evaluators',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: "Stop scoring an ingested app's runs",
          params,
          response: { 204: z.null(), ...authErrors },
        },
      },
      async (req, reply) => {
        await liveScoring.clearService(principalOf(req).tenantId, req.params.service);
        return reply.code(204).send(null);
      },
    );
  };
