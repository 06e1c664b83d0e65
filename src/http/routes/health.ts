import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../app.ts';

const component = z.object({
  status: z.enum(['ok', 'degraded', 'down']),
  latency_ms: z.number(),
  detail: z.record(z.string(), z.unknown()).optional(),
  error: z.string().optional(),
});
const healthSchema = z.object({
  status: z.enum(['ok', 'degraded', 'down']),
  version: z.string(),
  uptime_s: z.number(),
  components: z.record(z.string(), component),
});

export const healthRoutes =
  ({ health, metrics, version }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.get(
      '/health',
      {
        config: { auth: 'public', shed: false },
        schema: {
          tags: ['operations'],
          summary: 'Overall and per-component health',
          security: [],
          response: { 200: healthSchema, 503: healthSchema },
        },
      },
      async (_req, reply) => {
        const report = await health.report();
        return reply
          .code(report.status === 'down' ? 503 : 200)
          .header('cache-control', 'no-store')
          .send({
            status: report.status,
            version,
            uptime_s: Math.round(process.uptime()),
            components: report.components,
          });
      },
    );

    app.get(
      '/metrics',
      {
        // Process-wide figures across every tenant: for the operators (root admins, internal services).
        config: { auth: 'admin', root: true },
        schema: { tags: ['operations'], summary: 'Prometheus metrics', produces: ['text/plain'] },
      },
      async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
    );
  };
