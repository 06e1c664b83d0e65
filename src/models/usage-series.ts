import type { BudgetLimits, TenantPolicy } from '../config/tenant-policy.ts';
import type { Queryable } from '../db/db.ts';
import { budgetCounterKey, stricter } from './limits.ts';

/** Time buckets of a usage series and their length. */
export const usageBuckets = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
export type UsageBucket = keyof typeof usageBuckets;
/** What a series is split by; each maps to a fixed SQL expression (never client text). */
export const usageGroups = ['agent', 'model', 'tenant'] as const;
export type UsageGroup = (typeof usageGroups)[number];
const groupSql: Record<UsageGroup, string> = {
  agent: "coalesce(u.agent, '')",
  model: 'u.model',
  tenant: 'coalesce(t.name, u.tenant_id::text)',
};

export interface UsageSeriesQuery {
  /** One tenant, or every tenant (root admins). */
  tenantId: string | null;
  since: Date;
  until: Date;
  bucket: UsageBucket;
  by: UsageGroup;
  /** Agents whose usage is left out (as `UsageQuery.hiddenAgents`). */
  hiddenAgents?: string[];
}

export interface UsagePoint {
  /** The bucket's start, ISO-8601 UTC. */
  t: string;
  /** The agent name (empty for calls made without one), model or tenant name. */
  key: string;
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  /** Of input_tokens: read from the provider's cache, and written to it. */
  cached_input_tokens: number;
  cache_write_tokens: number;
  /** Of output_tokens: spent reasoning. */
  reasoning_tokens: number;
  cost: number;
}

/** Usage per time bucket and per agent, model or tenant; buckets without calls are absent. */
export function usageSeries(db: Queryable, q: UsageSeriesQuery): Promise<UsagePoint[]> {
  return db.query<UsagePoint>(
    `select to_char(date_trunc($1, u.at at time zone 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as t,
            ${groupSql[q.by]} as key,
            count(*)::int as requests,
            count(*) filter (where u.outcome <> 'ok')::int as errors,
            coalesce(sum(u.input_tokens), 0)::int as input_tokens,
            coalesce(sum(u.output_tokens), 0)::int as output_tokens,
            coalesce(sum(u.cached_input_tokens), 0)::int as cached_input_tokens,
            coalesce(sum(u.cache_write_tokens), 0)::int as cache_write_tokens,
            coalesce(sum(u.reasoning_tokens), 0)::int as reasoning_tokens,
            coalesce(sum(u.cost), 0)::float8 as cost
       from usage u left join tenants t on t.id = u.tenant_id
      where ($2::uuid is null or u.tenant_id = $2) and u.at >= $3 and u.at < $4
        and not coalesce(u.agent = any($5::text[]), false)
      group by 1, 2
      order by 1, 2`,
    [q.bucket, q.tenantId, q.since.toISOString(), q.until.toISOString(), q.hiddenAgents ?? []],
  );
}

export interface BudgetStatus {
  /** `tenant`, or the agent a per-agent budget is for. */
  scope: 'tenant' | 'agent';
  agent: string | null;
  /** The tenants.yaml rule: `tokens_per_day`, `cost_per_month` … */
  rule: keyof BudgetLimits;
  limit: number;
  used: number;
  /**
   * Held by the limiter beyond what is used: calls in flight (their worst case) and the slices
   * processes hold to admit calls without a store round trip (given back at their next flush).
   */
  reserved: number;
  remaining: number;
  /** When the period ends and the budget is whole again (UTC). */
  resets_at: string;
}

/**
 * Each budget of a tenant's policy with what its period has used so far, from the usage rows (the
 * limiter's counters also hold reservations in flight, so they run a little ahead of this). An
 * agent's limits are those the gateway enforces: its tenants.yaml entry and its own budget
 * (`ownBudgets`, by agent name), the stricter of each.
 */
export async function budgetStatus(
  db: Queryable,
  tenantId: string,
  policy: TenantPolicy,
  ownBudgets: Record<string, BudgetLimits> = {},
  now = new Date(),
): Promise<BudgetStatus[]> {
  const dayStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const periodEnd = {
    day: dayStart + 86_400_000,
    month: Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1),
  };
  const rows = await db.query<{ agent: string | null; day: boolean; tokens: number; cost: number }>(
    `select agent, at >= $3 as day,
            coalesce(sum(input_tokens + output_tokens), 0)::float8 as tokens, coalesce(sum(cost), 0)::float8 as cost
       from usage where tenant_id = $1 and at >= $2
      group by 1, 2`,
    [tenantId, new Date(monthStart).toISOString(), new Date(dayStart).toISOString()],
  );
  const counters = new Map(
    (
      await db.query<{ key: string; used: number }>(
        `select key, used from limit_counters where key like $1 and expires_at > now()`,
        [`b:${tenantId}:%`],
      )
    ).map((r) => [r.key, r.used]),
  );
  const used = (agent: string | null, metric: 'tokens' | 'cost', period: 'day' | 'month') =>
    rows
      .filter((r) => (agent === null || r.agent === agent) && (period === 'month' || r.day))
      .reduce((sum, r) => sum + r[metric], 0);

  const out: BudgetStatus[] = [];
  const add = (scope: 'tenant' | 'agent', agent: string | null, limits: BudgetLimits) => {
    for (const rule of ['tokens_per_day', 'tokens_per_month', 'cost_per_day', 'cost_per_month'] as const) {
      const limit = limits[rule];
      if (limit === undefined) continue;
      const [metric, , period] = rule.split('_') as ['tokens' | 'cost', 'per', 'day' | 'month'];
      const u = used(agent, metric, period);
      const held = counters.get(budgetCounterKey(tenantId, agent, metric, period, now.getTime())) ?? 0;
      const reserved = Math.max(0, held - u);
      out.push({
        scope,
        agent,
        rule,
        limit,
        used: u,
        reserved,
        remaining: Math.max(0, limit - u),
        resets_at: new Date(periodEnd[period]).toISOString(),
      });
    }
  };
  const { agents, ...tenantLimits } = policy.budgets;
  add('tenant', null, tenantLimits);
  const names = new Set([...Object.keys(agents), ...Object.keys(ownBudgets)]);
  for (const name of names) {
    const limits = stricter(
      Object.hasOwn(agents, name) ? agents[name] : undefined,
      Object.hasOwn(ownBudgets, name) ? ownBudgets[name] : undefined,
    );
    if (limits) add('agent', name, limits);
  }
  return out;
}
