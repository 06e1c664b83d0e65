import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../services.ts';
import { authErrors } from './common.ts';

/** A pool's sandbox counts, for one process or summed over the fleet. */
const counts = z.object({
  ready: z.number().int(),
  busy: z.number().int(),
  preparing: z.number().int(),
  waiting: z.number().int(),
  created: z.number().int(),
  destroyed: z.number().int(),
  failed: z.number().int(),
});

const statsSchema = counts.extend({
  type: z.string(),
  acquire_wait_ms: z.object({ p50: z.number(), p99: z.number() }),
  /** The same counts summed over every process of the fleet that runs this pool. */
  fleet: counts.extend({ processes: z.number().int(), source: z.enum(['redis', 'local']) }),
});

export const poolRoutes =
  ({ sandboxes, agentSandboxes, fleetStats }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.get(
      '/v1/pools/:type/stats',
      {
        // Counts across every tenant, like /metrics: an operator's view.
        config: { auth: 'admin' },
        schema: {
          tags: ['operations'],
          summary:
            "Warm sandbox pool statistics (bwrap, quickjs, or agent: the local-dev agents' pool), this process's and the fleet's",
          params: z.object({ type: z.string().min(1).max(32) }),
          response: { 200: statsSchema, ...authErrors },
        },
      },
      async (req) => {
        const { type } = req.params;
        const local = type === 'agent' ? await agentSandboxes.stats() : sandboxes.stats(type);
        return { ...local, fleet: await fleetStats.fleet(type) };
      },
    );
  };
