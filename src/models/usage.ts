import type { Db } from '../db/db.ts';
import { newId } from '../db/ids.ts';
import type { Logger } from '../observability/logger.ts';

/** One model call, as recorded. */
export interface UsageRecord {
  tenantId: string;
  agent?: string;
  keyId?: string;
  requestedModel: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
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
}

export interface UsageRow {
  day: string;
  agent: string | null;
  model: string;
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cost: number;
}

const MAX_BUFFER = 50_000;
/** Rows per insert on the embedded store: about 2 ms of work each. */
const EMBEDDED_CHUNK = 50;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Records every call's usage off the hot path: rows are buffered and written in one multi-row insert
 * per flush. A failed flush keeps the rows for the next one (bounded: the oldest are dropped, and
 * logged, past MAX_BUFFER), so a store hiccup never fails a model call.
 */
export class UsageRecorder {
  private buffer: UsageRecord[] = [];
  private flushing?: Promise<void>;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  record(row: UsageRecord): void {
    this.buffer.push(row);
    if (this.buffer.length > MAX_BUFFER) {
      const dropped = this.buffer.splice(0, this.buffer.length - MAX_BUFFER);
      this.log.error({ dropped: dropped.length }, 'usage buffer full: oldest usage rows dropped');
    }
  }

  /** Writes buffered rows; concurrent callers share the flush in flight. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async write(): Promise<void> {
    // PGlite runs SQL on this thread: one insert of a few hundred rows would hold up every request
    // in flight for milliseconds, so it gets small inserts with a turn of the event loop between.
    const embedded = this.db.kind === 'pglite';
    const chunk = embedded ? EMBEDDED_CHUNK : 1000;
    for (let first = true; this.buffer.length > 0; first = false) {
      if (embedded && !first) await new Promise((resolve) => setImmediate(resolve));
      const rows = this.buffer.splice(0, chunk);
      try {
        await this.db.query(
          `insert into usage (id, tenant_id, agent, key_id, requested_model, model, input_tokens, output_tokens,
                              cost, latency_ms, request_id, outcome, at)
           select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::int[],
                                $8::int[], $9::float8[], $10::float8[], $11::text[], $12::text[], $13::timestamptz[])`,
          [
            rows.map(() => newId()),
            rows.map((r) => r.tenantId),
            rows.map((r) => r.agent ?? null),
            rows.map((r) => (r.keyId && uuidPattern.test(r.keyId) ? r.keyId : null)),
            rows.map((r) => r.requestedModel),
            rows.map((r) => r.model),
            rows.map((r) => r.inputTokens),
            rows.map((r) => r.outputTokens),
            rows.map((r) => r.cost),
            rows.map((r) => r.latencyMs),
            rows.map((r) => r.requestId ?? null),
            rows.map((r) => r.outcome),
            rows.map((r) => r.at.toISOString()),
          ],
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
              coalesce(sum(cost), 0)::float8 as cost
         from usage
        where tenant_id = $1 and at >= $2 and at < $3
          and ($4::text is null or agent = $4) and ($5::text is null or model = $5)
        group by 1, 2, 3
        order by 1, 2 nulls first, 3`,
      [q.tenantId, q.from.toISOString(), q.to.toISOString(), q.agent ?? null, q.model ?? null],
    );
    return rows;
  }
}
