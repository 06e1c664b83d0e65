import type { BudgetLimits, TenantPolicies, TenantPolicy } from '../config/tenant-policy.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Admission, AdmissionRequest, Ticket } from './admission.ts';
import type { AgentBudgets } from './agent-budgets.ts';
import type { AllottedCounters, CounterSpec } from './allotments.ts';

type Metric = 'tokens' | 'cost' | 'requests';

interface Need {
  spec: CounterSpec;
  metric: Metric;
  /** Which rule, for the 429 message: `tenant acme tokens_per_day`. */
  rule: string;
}

/**
 * Budgets (per tenant and per agent: tokens and cost per day and month, in the durable store) and
 * rate limits (per tenant and per key: requests and tokens per minute, in Redis when configured).
 * A call reserves its worst case on every counter that applies, or is refused with 429 naming the
 * limit; settling the ticket replaces the worst case by the real usage. When a store cannot be
 * reached, a tenant with `fail_open` is served (and it is logged), any other gets 503.
 *
 * An agent's budget is its tenants.yaml entry (`budgets.agents.<name>`) and its own `budget` field
 * (`agentBudgets`), limit by limit the stricter of the two where both set one; both count on the
 * same counters, so changing or clearing either never resets what the agent has used.
 */
export class Limits implements Admission {
  /**
   * The counters a caller (tenant, agent, key) needs this minute, worked out once per minute instead
   * of once per call: the keys embed the minute, day and month. Cleared when the minute turns.
   */
  private readonly needsCache = new Map<string, CachedNeeds>();
  private cacheMinute = -1;

  constructor(
    private readonly policies: TenantPolicies,
    private readonly budgets: AllottedCounters,
    private readonly rates: AllottedCounters,
    private readonly log: Logger,
    /** Agents' own budgets; none: tenants.yaml alone. */
    private readonly agentBudgets?: AgentBudgets,
    private readonly now: () => number = Date.now,
  ) {}

  admit(req: AdmissionRequest): Promise<Ticket> | Ticket {
    const policy = this.policies.get(req.ctx.tenantName);
    const agent = req.ctx.agentName;
    const own = agent && this.agentBudgets ? this.agentBudgets.get(req.ctx.tenantId, agent) : null;
    // Known (the usual case): admitted without waiting; otherwise once the store has answered.
    if (own instanceof Promise) {
      return own.then(
        (budget) => this.admitWith(policy, budget, req),
        (err) => this.admitWith(policy, this.ownBudgetUnknown(policy, req, err), req),
      );
    }
    return this.admitWith(policy, own, req);
  }

  /** The agent's own budget cannot be read: 503 as for the counters, or tenants.yaml alone (fail_open). */
  private ownBudgetUnknown(policy: TenantPolicy, req: AdmissionRequest, err: unknown): null {
    if (!policy.fail_open) {
      throw new AppError('store_unavailable', 'the budget and rate-limit store cannot be reached', {
        cause: err,
        retryAfter: 1,
      });
    }
    this.log.warn(
      { err, tenant: req.ctx.tenantName, agent: req.ctx.agentName, request_id: req.ctx.requestId },
      "agent's own budget unreadable: applying tenants.yaml's alone (fail_open)",
    );
    return null;
  }

  private admitWith(
    policy: TenantPolicy,
    own: BudgetLimits | null,
    req: AdmissionRequest,
  ): Promise<Ticket> | Ticket {
    const now = this.now();
    const needs = this.needs(policy, own, req, now);
    if (needs.budgetNeeds.length === 0 && needs.rateNeeds.length === 0) return noopTicket;
    refuseWhatNeverFits(needs, req);
    const held: Held[] = [
      {
        counters: this.rates,
        needs: needs.rateNeeds,
        amounts: needs.rateNeeds.map((n) => quantity(n, req.worstTokens, req.worstCost)),
      },
      {
        counters: this.budgets,
        needs: needs.budgetNeeds,
        amounts: needs.budgetNeeds.map((n) => quantity(n, req.worstTokens, req.worstCost)),
      },
    ];
    // Most calls fit in what this process already holds: reserved at once, with no store round trip.
    if (this.rates.reserveHeld(needs.rateSpecs, held[0]!.amounts)) {
      if (this.budgets.reserveHeld(needs.budgetSpecs, held[1]!.amounts)) return ticketFor(held);
      cancel(held[0]!);
    }
    return this.admitFromStore(policy, req, now, held);
  }

  /** Reserves on the rate limits, then the budgets, taking allotments from their stores as needed. */
  private async admitFromStore(
    policy: TenantPolicy,
    req: AdmissionRequest,
    now: number,
    wanted: Held[],
  ): Promise<Ticket> {
    const held: Held[] = [];
    for (const h of wanted) {
      const { counters, needs, amounts } = h;
      if (needs.length === 0) continue;
      let refused: CounterSpec | undefined;
      try {
        refused = await counters.reserveAll(
          needs.map((n) => n.spec),
          amounts,
        );
      } catch (err) {
        if (!policy.fail_open) {
          for (const k of held) cancel(k);
          throw new AppError('store_unavailable', 'the budget and rate-limit store cannot be reached', {
            cause: err,
            retryAfter: 1,
          });
        }
        this.log.warn(
          { err, tenant: req.ctx.tenantName, request_id: req.ctx.requestId },
          'limit store unreachable: serving the call unmetered (fail_open)',
        );
        continue;
      }
      if (refused) {
        for (const k of held) cancel(k);
        const need = needs.find((n) => n.spec === refused)!;
        const retryAfter = Math.max(1, Math.ceil((refused.expiresAt - now) / 1000));
        throw new AppError(
          'rate_limited',
          `${need.rule} exceeded (limit ${refused.limit}); retry after ${retryAfter} s`,
          {
            retryAfter,
            details: { rule: need.rule, limit: refused.limit },
          },
        );
      }
      held.push(h);
    }
    return ticketFor(held);
  }

  private needs(
    policy: TenantPolicy,
    own: BudgetLimits | null,
    req: AdmissionRequest,
    now: number,
  ): CachedNeeds {
    const minute = Math.floor(now / 60_000);
    if (minute !== this.cacheMinute || this.needsCache.size >= MAX_CACHED) {
      this.needsCache.clear();
      this.cacheMinute = minute;
    }
    const { ctx } = req;
    const key = `${ctx.tenantId}\n${ctx.agentName ?? ''}\n${ctx.keyId ?? ''}\n${ctx.tenantName}`;
    let cached = this.needsCache.get(key);
    // A reloaded tenants.yaml brings new policy objects, and an agent's budget read again a new
    // object: their needs are worked out again.
    if (cached?.policy !== policy || cached.own !== own) {
      const budgetNeeds = this.budgetNeeds(policy, own, req, now);
      const rateNeeds = this.rateNeeds(policy, req, now);
      cached = {
        policy,
        own,
        budgetNeeds,
        rateNeeds,
        budgetSpecs: budgetNeeds.map((n) => n.spec),
        rateSpecs: rateNeeds.map((n) => n.spec),
      };
      this.needsCache.set(key, cached);
    }
    return cached;
  }

  private budgetNeeds(
    policy: TenantPolicy,
    own: BudgetLimits | null,
    req: AdmissionRequest,
    now: number,
  ): Need[] {
    const needs: Need[] = [];
    const t = req.ctx.tenantId;
    addBudget(needs, policy.budgets, t, null, `tenant ${req.ctx.tenantName}`, now);
    const agent = req.ctx.agentName;
    // Own-property check: an agent named "constructor" must not find Object.prototype's.
    const fromFile =
      agent && Object.hasOwn(policy.budgets.agents, agent) ? policy.budgets.agents[agent] : undefined;
    const agentLimits = stricter(fromFile, own ?? undefined);
    if (agent && agentLimits) addBudget(needs, agentLimits, t, agent, `agent ${agent}`, now);
    return needs;
  }

  private rateNeeds(policy: TenantPolicy, req: AdmissionRequest, now: number): Need[] {
    const needs: Need[] = [];
    const minute = Math.floor(now / 60_000);
    const expiresAt = (minute + 1) * 60_000;
    const add = (limit: number | undefined, key: string, metric: Metric, rule: string) => {
      if (limit !== undefined)
        needs.push({ spec: { key: `${key}:${minute}`, limit, expiresAt }, metric, rule });
    };
    const t = req.ctx.tenantId;
    const r = policy.rate_limits;
    const who = `tenant ${req.ctx.tenantName}`;
    add(r.requests_per_minute, `r:${t}:t:req`, 'requests', `${who} rate limit requests_per_minute`);
    add(r.tokens_per_minute, `r:${t}:t:tok`, 'tokens', `${who} rate limit tokens_per_minute`);
    if (r.per_key && req.ctx.keyId) {
      const k = req.ctx.keyId;
      add(
        r.per_key.requests_per_minute,
        `r:${t}:k:${k}:req`,
        'requests',
        `key rate limit requests_per_minute`,
      );
      add(r.per_key.tokens_per_minute, `r:${t}:k:${k}:tok`, 'tokens', `key rate limit tokens_per_minute`);
    }
    return needs;
  }
}

const noopTicket: Ticket = { settle() {} };

/**
 * A call whose worst case is larger than a limit itself would be refused until the period ends and
 * then again: not a 429 to retry (a 100-token daily budget and a call that may use 4,196 tokens), but
 * a 400 that says what to change.
 */
function refuseWhatNeverFits(needs: CachedNeeds, req: AdmissionRequest): void {
  for (const n of [...needs.budgetNeeds, ...needs.rateNeeds]) {
    const amount = quantity(n, req.worstTokens, req.worstCost);
    if (amount <= n.spec.limit) continue;
    const what =
      n.metric === 'cost'
        ? `may cost up to ${amount.toPrecision(3)} (its prompt and max_tokens at the model's price)`
        : `may use up to ${amount} tokens (its prompt and max_tokens)`;
    throw new AppError(
      'exceeds_limit',
      `${n.rule} is ${n.spec.limit}, but this call ${what}: it can never fit; lower max_tokens or raise the limit`,
      { details: { rule: n.rule, limit: n.spec.limit, needed: amount } },
    );
  }
}

interface CachedNeeds {
  policy: TenantPolicy;
  own: BudgetLimits | null;
  budgetNeeds: Need[];
  rateNeeds: Need[];
  budgetSpecs: CounterSpec[];
  rateSpecs: CounterSpec[];
}

/** Reservations on one set of counters: each need's amount, in order. */
interface Held {
  counters: AllottedCounters;
  needs: Need[];
  amounts: number[];
}

/** What a call counts on a need's counter: a request once, else its tokens or its cost. */
function quantity(n: Need, tokens: number, cost: number): number {
  return n.metric === 'requests' ? 1 : n.metric === 'tokens' ? tokens : cost;
}

/** The ticket for what was reserved: settled once, replacing each worst case by the real usage. */
function ticketFor(held: Held[]): Ticket {
  let settled = false;
  return {
    settle: (actual) => {
      if (settled) return;
      settled = true;
      for (const h of held) {
        for (let i = 0; i < h.needs.length; i++) {
          const n = h.needs[i]!;
          // A request counts once whatever happened; tokens and cost are reconciled to what was used.
          h.counters.settle(n.spec, h.amounts[i]!, quantity(n, actual.tokens, actual.cost));
        }
      }
    },
  };
}

/** Callers (tenant, agent, key) whose needs are kept within one minute; past it the cache starts over. */
const MAX_CACHED = 10_000;

function cancel({ counters, needs, amounts }: Held) {
  for (const [i, n] of needs.entries()) counters.settle(n.spec, amounts[i]!, 0);
}

/** Limit by limit, the smaller of two budgets where both set it, else whichever sets it. */
export function stricter(a: BudgetLimits | undefined, b: BudgetLimits | undefined): BudgetLimits | undefined {
  if (!a || !b) return a ?? b;
  const out: BudgetLimits = {};
  for (const k of ['tokens_per_day', 'tokens_per_month', 'cost_per_day', 'cost_per_month'] as const) {
    const x = a[k];
    const y = b[k];
    const v = x === undefined ? y : y === undefined ? x : Math.min(x, y);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * The limiter's counter of a budget (reservations in flight and allotments held count there before
 * usage is recorded): `agent` null for the tenant's own.
 */
export const budgetCounterKey = (
  tenantId: string,
  agent: string | null,
  metric: 'tokens' | 'cost',
  period: 'day' | 'month',
  now: number,
) => {
  const day = new Date(now).toISOString().slice(0, 10);
  return `b:${tenantId}:${agent === null ? 't' : `a:${agent}`}:${metric}:${period === 'day' ? day : day.slice(0, 7)}`;
};

function addBudget(
  needs: Need[],
  limits: BudgetLimits,
  tenantId: string,
  agent: string | null,
  who: string,
  now: number,
) {
  const d = new Date(now);
  const end = {
    day: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1),
    month: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
  };
  for (const rule of ['tokens_per_day', 'tokens_per_month', 'cost_per_day', 'cost_per_month'] as const) {
    const limit = limits[rule];
    if (limit === undefined) continue;
    const [metric, , period] = rule.split('_') as ['tokens' | 'cost', 'per', 'day' | 'month'];
    needs.push({
      spec: { key: budgetCounterKey(tenantId, agent, metric, period, now), limit, expiresAt: end[period] },
      metric,
      rule: `${who} budget ${rule}`,
    });
  }
}
