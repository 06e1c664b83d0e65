import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { overallOf } from '../../observability/health.ts';
import { credentialHeader } from '../plugins/auth.ts';
import { authorizeScrape } from '../plugins/scrape-auth.ts';
import type { Services } from '../services.ts';
import { errorResponse, hostGuardErrors } from './common.ts';

const component = z.object({
  /** `off`: turned off or not configured (detail.reason says why), neither healthy nor a fault. */
  status: z.enum(['ok', 'degraded', 'down', 'off']),
  latency_ms: z.number(),
  detail: z.record(z.string(), z.unknown()).optional(),
  error: z.string().optional(),
});
const healthSchema = z.object({
  /** Which service answers, as the earlier systems' health checks say (`{service, status, version}`). */
  service: z.literal('agentry'),
  status: z.enum(['ok', 'degraded', 'down']),
  /** The same verdict as a traffic light: green (all ok), amber (degraded), red (down: 503). */
  overall: z.enum(['green', 'amber', 'red']),
  version: z.string(),
  uptime_s: z.number(),
  components: z.record(z.string(), component),
});

export const healthRoutes =
  ({ health, metrics, version, config, authenticator }: Services): FastifyPluginAsync =>
  async (fastify) => {
    /** Whether the caller brought valid credentials; bad or absent ones are no error here, only no detail. */
    const hasKey = async (req: FastifyRequest) =>
      !!(await authenticator
        .authenticate({
          header: credentialHeader(req),
        })
        // Credentials that do not authenticate get the public answer, as none would.
        .catch(() => undefined));
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.get(
      '/health',
      {
        config: { auth: 'public', shed: false },
        schema: {
          tags: ['operations'],
          summary: 'Overall and per-component health',
          security: [],
          response: { 200: healthSchema, ...hostGuardErrors, 503: healthSchema },
        },
      },
      async (req, reply) => {
        const report = await health.report();
        // Details (paths, versions, addresses, error texts) are for callers with a key: anyone
        // may ask whether the server is healthy, not how the host is laid out.
        const withDetail = await hasKey(req);
        const components = withDetail
          ? report.components
          : Object.fromEntries(
              Object.entries(report.components).map(([name, c]) => [
                name,
                { status: c.status, latency_ms: c.latency_ms },
              ]),
            );
        return reply
          .code(report.status === 'down' ? 503 : 200)
          .header('cache-control', 'no-store')
          .send({
            service: 'agentry',
            status: report.status,
            overall: overallOf(report.status),
            version,
            uptime_s: Math.round(process.uptime()),
            components,
          });
      },
    );

    const probe = z.object({ status: z.enum(['ok', 'down']) });
    app.get(
      '/health/live',
      {
        config: { auth: 'public', shed: false },
        schema: {
          tags: ['operations'],
          summary: 'Liveness for orchestrators: the process answers (no dependency is checked)',
          security: [],
          response: { 200: probe, ...hostGuardErrors },
        },
      },
      async (_req, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }),
    );

    app.get(
      '/health/ready',
      {
        config: { auth: 'public', shed: false },
        schema: {
          tags: ['operations'],
          summary: 'Readiness for orchestrators: 503 while an essential component (the store) is down',
          security: [],
          response: {
            200: probe.extend({ components: z.record(z.string(), component) }),
            ...hostGuardErrors,
            503: probe.extend({ components: z.record(z.string(), component) }),
          },
        },
      },
      async (_req, reply) => {
        const report = await health.report(2000, true);
        const down = report.status === 'down';
        return reply
          .code(down ? 503 : 200)
          .header('cache-control', 'no-store')
          .send({ status: down ? 'down' : 'ok', components: report.components });
      },
    );

    app.get(
      '/metrics',
      {
        // Process-wide figures across every tenant: for the operators (root admins, internal
        // services) and for a scraper holding the metrics token, checked by the handler itself.
        // Not shed under pressure either: an overloaded instance is when its metrics matter most.
        config: { auth: 'public', shed: false },
        schema: {
          tags: ['operations'],
          summary: 'Prometheus metrics (root admin key, internal secret, or the metrics token)',
          produces: ['text/plain'],
          response: {
            200: z.string().describe("Prometheus's text exposition format"),
            401: errorResponse,
            ...hostGuardErrors,
          },
        },
      },
      async (req, reply) => {
        await authorizeScrape(req, config.auth.metrics_token, authenticator, (reason) =>
          metrics.authFailures.inc({ reason }),
        );
        return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
      },
    );
  };
