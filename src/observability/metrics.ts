import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../db/db.ts';
import { AgentMetrics } from './agent-metrics.ts';
import { ScrapeErrors } from './scrape-errors.ts';

/** One registry per app instance (not prom-client's global one), so several apps can live in one test process. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly authFailures: Counter<'reason'>;
  /** Requests answered 503 because the store was unreachable (an outage, a saturated pool). */
  readonly storeUnavailable: Counter;
  /** Model calls, tool calls and runs. */
  readonly agents: AgentMetrics;
  /** Event streams (SSE) open now, by route. */
  readonly openStreams: Gauge<'route'>;
  /** Store-backed gauges that could not be read at a scrape (their series were left out), by gauge. */
  readonly scrapeErrors: ScrapeErrors;

  constructor(db: Db) {
    // Standard names (process_*, nodejs_*), as every Node dashboard and alert expects them.
    collectDefaultMetrics({ register: this.registry });
    // Gauges with a counter's suffix, which `promtool check metrics` rejects; their sums are
    // sum(nodejs_active_handles), sum(nodejs_active_requests) and sum(nodejs_active_resources).
    for (const kind of ['handles', 'requests', 'resources'])
      this.registry.removeSingleMetric(`nodejs_active_${kind}_total`);
    this.agents = new AgentMetrics(this.registry);
    this.httpDuration = new Histogram({
      name: 'agentry_http_request_duration_seconds',
      help: 'HTTP request duration by route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.authFailures = new Counter({
      name: 'agentry_auth_failures_total',
      help: 'Rejected credentials by reason',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.storeUnavailable = new Counter({
      name: 'agentry_store_unavailable_total',
      help: 'HTTP requests answered 503 store_unavailable because the store could not be reached',
      registers: [this.registry],
    });
    this.scrapeErrors = new ScrapeErrors(this.registry);
    this.openStreams = new Gauge({
      name: 'agentry_open_streams',
      help: 'Server-Sent Event streams open now, by route',
      labelNames: ['route'],
      registers: [this.registry],
    });
    const poolGauge = (name: string, help: string, pick: (s: ReturnType<Db['poolStats']>) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(pick(db.poolStats()));
        },
      });
    poolGauge('agentry_db_pool_connections', 'Database connections open', (s) => s.total);
    poolGauge('agentry_db_pool_idle', 'Database connections idle', (s) => s.idle);
    poolGauge('agentry_db_pool_waiting', 'Queries waiting for a database connection', (s) => s.waiting);
    poolGauge(
      'agentry_db_pool_oldest_wait_seconds',
      'How long the oldest query waiting for a database connection has waited',
      (s) => s.oldestWaitMs / 1000,
    );
  }
}
