import type { BudgetLimits, TenantPolicy } from '../config/tenant-policy.ts';
import type { Db } from '../db/db.ts';
import { isUuid, newId } from '../db/ids.ts';
import type { Logger } from '../observability/logger.ts';
import {
  type BudgetStatus,
  budgetStatus,
  type UsagePoint,
  type UsageSeriesQuery,
  usageSeries,
} from './usage-series.ts';

/** One model call, as recorded. */
export interface UsageRecord {
  tenantId: string;
  agent?: string;
  keyId?: string;
  requestedModel: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  /** Of inputTokens: read from the provider's cache, and written to it. Of outputTokens: reasoning. */
  cachedInputTokens?: number;
  cacheWriteTokens?: number;
  reasoningTokens?: number;
  cost: number;
  latencyMs: number;
  requestId?: string;
  /** `ok`, `error:<code>` or `aborted`. */
  outcome: string;
  at: Date;
}

export interface UsageQuery {
  tenantId: string;
  from: Date;
  to: Date;
  agent?: string;
  model?: string;
  /** Agents whose usage is left out: other users' private agents, for a viewer who may not see them. */
  hiddenAgents?: string[];
}

export interface UsageRow {
  day: string;
  agent: string | null;
  model: string;
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

const MAX_BUFFER = 50_000;
/**
 * Rows per insert on the embedded store, whose SQL runs on the request thread: about 1.3 ms each,
 * so a request that arrives meanwhile waits no longer than that (50 rows held it up 2.5 ms).
 */
const EMBEDDED_CHUNK = 25;

/**
 * Records every call's usage off the hot path: rows are buffered and written in one multi-row insert
 * per flush. A failed flush keeps the rows for the next one (bounded: the oldest are dropped, and
 * logged, past MAX_BUFFER), so a store hiccup never fails a model call.
 */
export class UsageRecorder {
  private buffer: UsageRecord[] = [];
  private flushing?: Promise<void>;
  /** The flush that starts when the one in flight ends. */
  private queued?: Promise<void>;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  /** Usage over time in buckets, by agent, model or tenant (what is buffered is not in it yet: flush first). */
  series(q: UsageSeriesQuery): Promise<UsagePoint[]> {
    return usageSeries(this.db, q);
  }

  /** A tenant's budgets with what this day and month have used (see `budgetStatus`). */
  budgets(
    tenantId: string,
    policy: TenantPolicy,
    own?: Record<string, BudgetLimits>,
  ): Promise<BudgetStatus[]> {
    return budgetStatus(this.db, tenantId, policy, own);
  }

  record(row: UsageRecord): void {
    this.buffer.push(row);
    if (this.buffer.length > MAX_BUFFER) {
      const dropped = this.buffer.splice(0, this.buffer.length - MAX_BUFFER);
      this.log.error({ dropped: dropped.length }, 'usage buffer full: oldest usage rows dropped');
    }
  }

  /**
   * Writes the rows buffered now. A flush writes only the rows it found when it began: rows recorded
   * meanwhile wait for the next one, or a busy process would chase its own buffer with an insert (a
   * transaction and a WAL flush in the store) for every row or two that arrived during the last
   * one. A caller that comes while a flush is in flight gets the one queued after it, which writes
   * what the first did not; concurrent callers share both.
   */
  flush(): Promise<void> {
    if (this.flushing) {
      this.queued ??= this.flushing
        // The flush in flight reports its own failure to its caller; this one only waits its turn.
        .catch(() => {})
        .then(() => {
          this.queued = undefined;
          return this.flush();
        });
      return this.queued;
    }
    this.flushing = this.write().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async write(): Promise<void> {
    // PGlite runs SQL on this thread: one insert of a few hundred rows would hold up every request
    // in flight for milliseconds, so it gets small inserts with a pause between them in which the
    // requests that arrived meanwhile go on.
    const embedded = this.db.kind === 'pglite';
    const chunk = embedded ? EMBEDDED_CHUNK : 1000;
    let left = this.buffer.length;
    for (let first = true; left > 0; first = false) {
      if (embedded && !first) await new Promise((resolve) => setTimeout(resolve, 1));
      // New rows are appended: the first `left` rows are still the ones this flush found.
      const rows = this.buffer.splice(0, Math.min(chunk, left));
      if (rows.length === 0) break;
      left -= rows.length;
      try {
        // The rows travel as one JSON parameter: cheaper to encode and parse than thirteen arrays.
        await this.db.query(
          `insert into usage (id, tenant_id, agent, key_id, requested_model, model, input_tokens, output_tokens,
                              cached_input_tokens, cache_write_tokens, reasoning_tokens,
                              cost, latency_ms, request_id, outcome, at)
           select * from json_to_recordset($1::json)
             as r(id uuid, tenant_id uuid, agent text, key_id uuid, requested_model text, model text,
                  input_tokens int, output_tokens int, cached_input_tokens int, cache_write_tokens int,
                  reasoning_tokens int, cost float8, latency_ms float8, request_id text,
                  outcome text, at timestamptz)`,
          [JSON.stringify(rows.map(toRow))],
        );
      } catch (err) {
        this.buffer.unshift(...rows);
        throw err;
      }
    }
  }

  /** Usage by day, agent and model for one tenant (buffered rows of this process included). */
  async query(q: UsageQuery): Promise<UsageRow[]> {
    await this.flush().catch((err) => this.log.warn({ err }, 'usage flush before query failed'));
    const rows = await this.db.query<UsageRow>(
      `select to_char(date_trunc('day', at at time zone 'UTC'), 'YYYY-MM-DD') as day, agent, model,
              count(*)::int as requests,
              count(*) filter (where outcome <> 'ok')::int as errors,
              coalesce(sum(input_tokens), 0)::int as input_tokens,
              coalesce(sum(output_tokens), 0)::int as output_tokens,
              coalesce(sum(cached_input_tokens), 0)::int as cached_input_tokens,
              coalesce(sum(cache_write_tokens), 0)::int as cache_write_tokens,
              coalesce(sum(reasoning_tokens), 0)::int as reasoning_tokens,
              coalesce(sum(cost), 0)::float8 as cost
         from usage
        where tenant_id = $1 and at >= $2 and at < $3
          and ($4::text is null or agent = $4) and ($5::text is null or model = $5)
          and not coalesce(agent = any($6::text[]), false)
        group by 1, 2, 3
        order by 1, 2 nulls first, 3`,
      [
        q.tenantId,
        q.from.toISOString(),
        q.to.toISOString(),
        q.agent ?? null,
        q.model ?? null,
        q.hiddenAgents ?? [],
      ],
    );
    return rows;
  }
}

/** A record as a `usage` row (snake_case, as stored); a key id that is not a UUID is stored as null. */
function toRow(r: UsageRecord) {
  return {
    id: newId(),
    tenant_id: r.tenantId,
    agent: r.agent ?? null,
    key_id: r.keyId && isUuid(r.keyId) ? r.keyId : null,
    requested_model: r.requestedModel,
    model: r.model,
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
    cached_input_tokens: r.cachedInputTokens ?? 0,
    cache_write_tokens: r.cacheWriteTokens ?? 0,
    reasoning_tokens: r.reasoningTokens ?? 0,
    cost: r.cost,
    latency_ms: r.latencyMs,
    request_id: r.requestId ?? null,
    outcome: r.outcome,
    at: r.at.toISOString(),
  };
}
