import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isRoot } from '../../auth/principal.ts';
import { AppError } from '../../errors.ts';
import { usageBuckets, usageGroups } from '../../models/usage-series.ts';
import { principalOf, viewerOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors } from './common.ts';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a UTC date, YYYY-MM-DD');
const query = z
  .object({
    /** First day included (UTC); default 30 days ago. */
    from: day.optional(),
    /** Last day included (UTC); default today. */
    to: day.optional(),
    agent: z.string().min(1).max(200).optional(),
    model: z.string().min(1).max(200).optional(),
  })
  .strict();

const row = z.object({
  day: z.string(),
  agent: z.string().nullable(),
  model: z.string(),
  requests: z.number(),
  errors: z.number(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  /** Of input_tokens: read from the provider's cache (priced at the model's cache_read price). */
  cached_input_tokens: z.number(),
  /** Of input_tokens: written to the provider's cache (priced at its cache_write price). */
  cache_write_tokens: z.number(),
  /** Of output_tokens: spent reasoning before the answer. */
  reasoning_tokens: z.number(),
  cost: z.number(),
});

/** A series spans at most this many buckets (a day of minutes, two months of hours). */
const MAX_BUCKETS = 1500;
const seriesQuery = z
  .object({
    /** First instant included (ISO-8601); default 24 hours before `until`. */
    since: z.iso.datetime({ offset: true }).optional(),
    /** End, excluded (ISO-8601); default now. */
    until: z.iso.datetime({ offset: true }).optional(),
    bucket: z.enum(Object.keys(usageBuckets) as [keyof typeof usageBuckets]).default('hour'),
    by: z.enum(usageGroups).default('agent'),
    /** `true`: every tenant's usage (admins of the root tenant only). */
    all_tenants: z
      .enum(['true', 'false'])
      .transform((v) => v === 'true')
      .optional(),
  })
  .strict();
const point = z.object({
  t: z.string(),
  key: z.string(),
  requests: z.number(),
  errors: z.number(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  /** Of input_tokens: read from the provider's cache (priced at the model's cache_read price). */
  cached_input_tokens: z.number(),
  /** Of input_tokens: written to the provider's cache (priced at its cache_write price). */
  cache_write_tokens: z.number(),
  /** Of output_tokens: spent reasoning before the answer. */
  reasoning_tokens: z.number(),
  cost: z.number(),
});
const budget = z.object({
  scope: z.enum(['tenant', 'agent']),
  agent: z.string().nullable(),
  rule: z.enum(['tokens_per_day', 'tokens_per_month', 'cost_per_day', 'cost_per_month']),
  limit: z.number(),
  used: z.number(),
  /** Held by the limiter beyond `used`: calls in flight at their worst case, slices processes hold. */
  reserved: z.number(),
  remaining: z.number(),
  resets_at: z.string(),
});

/** GET /v1/usage: the caller's tenant's model usage by day, agent and model. */
export const usageRoutes =
  ({ models, policies, agents }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/v1/usage',
      {
        schema: {
          tags: ['models'],
          summary: 'Model usage by day, agent and model',
          querystring: query,
          response: {
            200: z.object({ from: z.string(), to: z.string(), data: z.array(row) }),
            ...authErrors,
          },
        },
      },
      async (req) => {
        const today = new Date().toISOString().slice(0, 10);
        const to = req.query.to ?? today;
        const from = req.query.from ?? new Date(Date.parse(to) - 29 * 86_400_000).toISOString().slice(0, 10);
        const fromDate = new Date(`${from}T00:00:00Z`);
        const toDate = new Date(Date.parse(`${to}T00:00:00Z`) + 86_400_000);
        if (Number.isNaN(fromDate.getTime()) || Number.isNaN(toDate.getTime())) {
          throw new AppError('validation_error', 'from and to must be real dates');
        }
        if (fromDate >= toDate) throw new AppError('validation_error', 'from must not be after to');
        const tenantId = principalOf(req).tenantId;
        const data = await models.usage.query({
          tenantId,
          from: fromDate,
          to: toDate,
          agent: req.query.agent,
          model: req.query.model,
          hiddenAgents: [...(await agents.hiddenNames(tenantId, viewerOf(req)))],
        });
        return { from, to, data };
      },
    );

    app.get(
      '/v1/usage/series',
      {
        schema: {
          tags: ['models'],
          summary:
            'Model usage over time: requests, errors, tokens and cost per bucket and per agent, model or tenant',
          querystring: seriesQuery,
          response: {
            200: z.object({
              since: z.string(),
              until: z.string(),
              bucket: z.string(),
              by: z.string(),
              data: z.array(point),
            }),
            ...authErrors,
          },
        },
      },
      async (req) => {
        const principal = principalOf(req);
        const { bucket, by } = req.query;
        if (req.query.all_tenants && !isRoot(principal)) {
          throw new AppError('forbidden', "every tenant's usage is for admins of the root tenant");
        }
        const until = req.query.until ? new Date(req.query.until) : new Date();
        const since = req.query.since ? new Date(req.query.since) : new Date(until.getTime() - 86_400_000);
        if (since >= until) throw new AppError('validation_error', 'since must be before until');
        if ((until.getTime() - since.getTime()) / usageBuckets[bucket] > MAX_BUCKETS) {
          throw new AppError(
            'validation_error',
            `at most ${MAX_BUCKETS} buckets: widen bucket or narrow the time`,
          );
        }
        await models.usage.flush().catch((err) => req.log.warn({ err }, 'usage flush before query failed'));
        const data = await models.usage.series({
          tenantId: req.query.all_tenants ? null : principal.tenantId,
          since,
          until,
          bucket,
          by,
          hiddenAgents: [...(await agents.hiddenNames(principal.tenantId, viewerOf(req)))],
        });
        return { since: since.toISOString(), until: until.toISOString(), bucket, by, data };
      },
    );

    app.get(
      '/v1/usage/budgets',
      {
        schema: {
          tags: ['models'],
          summary:
            "The tenant's budgets (tenants.yaml, and agents' own: the stricter of each) with what this day or month has used and what remains",
          response: { 200: z.object({ data: z.array(budget) }), ...authErrors },
        },
      },
      async (req) => {
        const principal = principalOf(req);
        await models.usage.flush().catch((err) => req.log.warn({ err }, 'usage flush before query failed'));
        const own = await agents.budgets(principal.tenantId);
        const hidden = await agents.hiddenNames(principal.tenantId, viewerOf(req));
        const data = await models.usage.budgets(principal.tenantId, policies.get(principal.tenantName), own);
        // Another user's private agent is not named, nor its budget shown.
        return { data: data.filter((b) => b.agent === null || !hidden.has(b.agent)) };
      },
    );
  };
