import { Gauge, type Registry } from 'prom-client';
import type { TenantPolicies } from '../config/tenant-policy.ts';
import type { Db } from '../db/db.ts';
import type { ScrapeErrors } from '../observability/scrape-errors.ts';

type BudgetName = 'tokens_per_day' | 'tokens_per_month' | 'cost_per_day' | 'cost_per_month';
type Limits = Partial<Record<BudgetName, number>>;
interface Used {
  day_tokens: number;
  day_cost: number;
  month_tokens: number;
  month_cost: number;
}

/**
 * `agentry_budget_used_ratio{tenant, agent, budget}`: how much of each budget in tenants.yaml is
 * used in its current period (UTC day or month), 1 being exhausted; `agent` is empty for the
 * tenant-wide budgets. Read from the usage records at scrape time (the same on both stores and in
 * every process), so it trails the admission counters by the usage flush interval at most.
 */
export function registerBudgetGauge(
  registry: Registry,
  db: Db,
  policies: TenantPolicies,
  scrapeErrors: ScrapeErrors,
): void {
  new Gauge({
    name: 'agentry_budget_used_ratio',
    help: 'Share of each tenants.yaml budget used in its current period (1 = exhausted), by tenant, agent ("" for tenant-wide) and budget',
    labelNames: ['tenant', 'agent', 'budget'],
    registers: [registry],
    collect: scrapeErrors.collect('budget_used', async (gauge) => {
      const now = new Date();
      const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
      const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
      const tenants = await db.query<{ name: string }>('select name from tenants order by name');
      const rows = await db.query<Used & { tenant: string; agent: string | null }>(
        `select t.name as tenant, u.agent,
                coalesce(sum(u.input_tokens + u.output_tokens) filter (where u.at >= $1), 0)::float8 as day_tokens,
                coalesce(sum(u.cost) filter (where u.at >= $1), 0)::float8 as day_cost,
                sum(u.input_tokens + u.output_tokens)::float8 as month_tokens,
                sum(u.cost)::float8 as month_cost
         from usage u join tenants t on t.id = u.tenant_id
         where u.at >= $2
         group by t.name, u.agent`,
        [day, month],
      );
      gauge.reset();
      for (const { name } of tenants) {
        const { budgets } = policies.get(name);
        const mine = rows.filter((r) => r.tenant === name);
        setRatios(gauge, name, '', budgets, sum(mine));
        for (const [agent, limits] of Object.entries(budgets.agents)) {
          setRatios(gauge, name, agent, limits, sum(mine.filter((r) => r.agent === agent)));
        }
      }
    }),
  });
}

function sum(rows: Used[]): Used {
  const total = { day_tokens: 0, day_cost: 0, month_tokens: 0, month_cost: 0 };
  for (const r of rows) {
    total.day_tokens += Number(r.day_tokens);
    total.day_cost += Number(r.day_cost);
    total.month_tokens += Number(r.month_tokens);
    total.month_cost += Number(r.month_cost);
  }
  return total;
}

function setRatios(
  g: Gauge<'tenant' | 'agent' | 'budget'>,
  tenant: string,
  agent: string,
  limits: Limits,
  used: Used,
) {
  const used_by: Record<BudgetName, number> = {
    tokens_per_day: used.day_tokens,
    tokens_per_month: used.month_tokens,
    cost_per_day: used.day_cost,
    cost_per_month: used.month_cost,
  };
  for (const budget of Object.keys(used_by) as BudgetName[]) {
    const limit = limits[budget];
    if (limit === undefined) continue;
    g.set({ tenant, agent, budget }, limit > 0 ? used_by[budget] / limit : used_by[budget] > 0 ? 1 : 0);
  }
}
