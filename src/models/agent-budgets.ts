import type { BudgetLimits } from '../config/tenant-policy.ts';

/** Reads an agent's own budget by tenant and exact name (null: none, or no such agent). */
export type AgentBudgetSource = (tenantId: string, agentName: string) => Promise<BudgetLimits | null>;

interface Entry {
  budget: BudgetLimits | null;
  /** When the entry is to be read again (epoch ms). */
  freshUntil: number;
  loading?: Promise<BudgetLimits | null>;
}

/**
 * Agents' own budgets (the `budget` field an admin sets through the API) as the gateway needs them
 * on every call of an agent: kept in memory, so a call costs no store round trip. An entry is read
 * again after `ttlMs`, and at once when `forget` is told of a change (the agent service tells its
 * own process directly and the others through the bus), so a changed budget applies everywhere
 * within the TTL even when a notification is lost.
 */
export class AgentBudgets {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly source: AgentBudgetSource,
    private readonly ttlMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The budget when it is known and fresh; otherwise a promise of it (read from the store). */
  get(tenantId: string, agentName: string): BudgetLimits | null | Promise<BudgetLimits | null> {
    const key = `${tenantId}\n${agentName}`;
    const entry = this.entries.get(key);
    if (entry && entry.freshUntil > this.now()) return entry.budget;
    if (entry?.loading) return entry.loading;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    const next: Entry = { budget: entry?.budget ?? null, freshUntil: 0 };
    const loading = this.source(tenantId, agentName).then(
      (budget) => {
        // A `forget` while reading dropped this entry: what was read may predate the change.
        if (this.entries.get(key) === next) {
          next.budget = budget;
          next.freshUntil = this.now() + this.ttlMs;
          next.loading = undefined;
        }
        return budget;
      },
      (err) => {
        if (this.entries.get(key) === next) this.entries.delete(key);
        throw err;
      },
    );
    next.loading = loading;
    this.entries.set(key, next);
    return loading;
  }

  /** Drops what is known of these agents' budgets: the next call reads them again. */
  forget(tenantId: string, agentNames: readonly string[]): void {
    for (const name of agentNames) this.entries.delete(`${tenantId}\n${name}`);
  }
}

/** Agents whose budgets are kept; past it the cache starts over (each is read again once). */
const MAX_ENTRIES = 10_000;
