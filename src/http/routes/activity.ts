import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { runStatuses } from '../../runtime/schema.ts';
import { taskStatuses } from '../../tasks/schema.ts';
import { principalOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors } from './common.ts';

const query = z
  .object({
    /** The window, ending now: runs and tasks created in the last `minutes`. */
    minutes: z.coerce.number().int().min(1).max(1440).default(60),
  })
  .strict();

const counts = (statuses: readonly string[]) =>
  z.object({
    total: z.number().int(),
    by_status: z.object(Object.fromEntries(statuses.map((s) => [s, z.number().int()]))),
    /** Failed among those that ended (completed or failed); null when none has ended. */
    error_rate: z.number().nullable(),
  });

const activity = z.object({
  since: z.string(),
  until: z.string(),
  runs: counts(runStatuses),
  tasks: counts(taskStatuses),
});

/** Every status present (zero when absent), the total, and the error rate among ended ones. */
function tally(statuses: readonly string[], found: Record<string, number>) {
  const by_status = Object.fromEntries(statuses.map((s) => [s, found[s] ?? 0]));
  const ended = (by_status.completed ?? 0) + (by_status.failed ?? 0);
  return {
    total: Object.values(by_status).reduce((a, b) => a + b, 0),
    by_status,
    error_rate: ended === 0 ? null : (by_status.failed ?? 0) / ended,
  };
}

/**
 * GET /v1/activity: the tenant's runs and tasks of the last N minutes by outcome, counted in the
 * store (the console's overview would otherwise page through every run and task of the window).
 */
export const activityRoutes =
  ({ runtime, tasks }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/v1/activity',
      {
        schema: {
          tags: ['operations'],
          summary: 'Runs and tasks created in the last N minutes (default 60), by status, with error rates',
          querystring: query,
          response: { 200: activity, ...authErrors },
        },
      },
      async (req) => {
        const tenantId = principalOf(req).tenantId;
        const until = new Date();
        const since = new Date(until.getTime() - req.query.minutes * 60_000);
        const [runs, queued] = await Promise.all([
          runtime.store.countSince(tenantId, since),
          tasks.countSince(tenantId, since),
        ]);
        return {
          since: since.toISOString(),
          until: until.toISOString(),
          runs: tally(runStatuses, runs),
          tasks: tally(taskStatuses, queued),
        };
      },
    );
  };
