import { Gauge } from 'prom-client';
import type { Config } from '../config/config.ts';
import type { TenantPolicies } from '../config/tenant-policy.ts';
import type { Db } from '../db/db.ts';
import { newRedis } from '../net/redis.ts';
import type { HealthRegistry } from '../observability/health.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { type AgentBudgetSource, AgentBudgets } from './agent-budgets.ts';
import { AllottedCounters } from './allotments.ts';
import { registerBudgetGauge } from './budget-gauge.ts';
import { ModelCatalog } from './catalog.ts';
import { type CounterStore, DbCounterStore, RedisCounterStore } from './counters.ts';
import { Gateway } from './gateway.ts';
import { Limits } from './limits.ts';
import type { OfflineEncoder } from './offline-encoder/offline-encoder.ts';
import { ModelPolicy } from './policy.ts';
import type { MockProvider } from './providers/mock.ts';
import { createProviders, onlyMockConfigured, unconfiguredProviders } from './providers/registry.ts';
import { ModelTelemetry } from './telemetry.ts';
import { UsageRecorder } from './usage.ts';

export interface ModelGatewayDeps {
  config: Config;
  db: Db;
  log: Logger;
  metrics: Metrics;
  health: HealthRegistry;
  policies: TenantPolicies;
  /** Reads an agent's own budget (the agents' service); none: tenants.yaml's budgets alone. */
  agentBudget?: AgentBudgetSource;
  env?: Record<string, string | undefined>;
  /** The process's offline encoder, for the mock's `universal-sentence-encoder`. */
  offlineEncoder?: OfflineEncoder;
}

export interface ModelGatewayHandle {
  gateway: Gateway;
  /** The agents' own budgets the gateway holds: `forget` them when they change. */
  agentBudgets?: AgentBudgets;
  /** Stops the flush loop (every `models.flush_ms`), flushes one last time, closes Redis. */
  close(): Promise<void>;
}

/**
 * Builds the gateway and what it stands on: providers, the counters behind budgets (always in the
 * database, which is durable) and rate limits (Redis when REDIS_URL is set, else the database),
 * the usage recorder, the flush loop, and its health check and metrics.
 */
export function createModelGateway(deps: ModelGatewayDeps): ModelGatewayHandle {
  const { config, db, log, metrics, health, policies } = deps;
  const m = config.models;
  const providers = createProviders(m, deps.env, deps.offlineEncoder);
  const redis = config.redis_url
    ? newRedis(config.redis_url, {
        // Fail fast instead of queueing while Redis is away: the caller decides (fail_open or 503).
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        lazyConnect: false,
      })
    : undefined;
  redis?.on('error', (err) => log.debug({ err }, 'redis (rate limits) error'));
  const budgetStore = new DbCounterStore(db);
  const rateStore: CounterStore = redis ? new RedisCounterStore(redis) : budgetStore;
  const budgets = new AllottedCounters(budgetStore);
  const rates = new AllottedCounters(rateStore);
  const usage = new UsageRecorder(db, log);
  const agentBudgets = deps.agentBudget ? new AgentBudgets(deps.agentBudget) : undefined;
  let sweeps = 0;
  // The periodic flush lets busy allotments keep a slice of headroom; an explicit one gives back all.
  const flush = async (keepWarm = false) => {
    const results = await Promise.allSettled([
      usage.flush(),
      budgets.flush(Date.now(), { keepWarm }),
      rates.flush(Date.now(), { keepWarm }),
      // Ended periods' counters are garbage; sweeping every few hundred flushes is plenty.
      ++sweeps % 400 === 0 ? budgetStore.sweep() : Promise.resolve(),
    ]);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
  const unconfigured = unconfiguredProviders(m, deps.env);
  const gateway = new Gateway({
    flush: () => flush(),
    catalog: new ModelCatalog(
      m,
      providers,
      {
        // No provider but the mock can answer: the earlier systems' model names stand in for it.
        enabled: onlyMockConfigured(m, deps.env),
        onStandIn: (name, model) =>
          log.warn(
            { requested_model: name, model },
            `model "${name}" is answered by ${model}: no model provider is configured (set OPENAI_API_KEY or ANTHROPIC_API_KEY, or models.providers)`,
          ),
      },
      // Their models are a 404 saying how to configure them, never a call to the vendor.
      unconfigured,
    ),
    mock: providers.get('mock') as MockProvider,
    policy: new ModelPolicy(policies),
    admission: new Limits(policies, budgets, rates, log, agentBudgets),
    usage,
    telemetry: new ModelTelemetry(metrics.agents),
    options: {
      retries: m.retries,
      breaker: m.breaker,
      timeouts: (name) => ({ ...m.timeouts, ...m.providers[name]?.timeouts }),
      default_max_tokens: m.default_max_tokens,
    },
  });

  if (redis) {
    // Rate limits go on without Redis (fail_open) or refuse calls: either way the service is not
    // all it should be, so an unreachable Redis is `down` here and the whole `degraded` (amber).
    health.register('redis', {
      essential: false,
      run: async () => {
        await redis.ping();
        return { detail: { used_for: 'rate limits', status: redis.status } };
      },
    });
  }
  registerBudgetGauge(metrics.registry, db, policies, metrics.scrapeErrors);
  const breakerGauge = new Gauge({
    name: 'agentry_model_breaker_state',
    help: 'Circuit breaker state per provider endpoint: 0 closed, 1 half-open, 2 open',
    labelNames: ['provider'],
    registers: [metrics.registry],
    collect() {
      for (const [name, b] of gateway.breakers()) {
        this.set({ provider: name }, b.state === 'closed' ? 0 : b.state === 'half_open' ? 1 : 2);
      }
    },
  });
  void breakerGauge;
  health.register('model_providers', {
    essential: false,
    run: async () => {
      const breakers = Object.fromEntries([...gateway.breakers()].map(([n, b]) => [n, b.state]));
      const open = Object.values(breakers).some((s) => s !== 'closed');
      return { status: open ? 'degraded' : 'ok', detail: { breakers, limits_store: rateStore.kind } };
    },
  });

  // One component per provider (`model:<name>`) with its breaker: an open one makes it degraded, so
  // the console and alerts show which provider is failing, not only that one is.
  health.registerGroup('model', {
    run: async () => {
      const breakers = gateway.breakers();
      return Object.fromEntries(
        [...providers.values()].map((p) => {
          const reason = unconfigured.get(p.name);
          if (reason) return [p.name, { status: 'off' as const, detail: { type: p.type, reason } }];
          const b = breakers.get(p.name);
          const state = b?.state ?? 'closed';
          return [
            p.name,
            {
              status: state === 'closed' ? 'ok' : 'degraded',
              detail: {
                type: p.type,
                breaker: state,
                ...(state === 'open' && b && { retry_in_s: Math.ceil(b.retryInMs() / 1000) }),
              },
            },
          ];
        }),
      );
    },
  });

  const timer = setInterval(() => {
    flush(true).catch((err) => log.warn({ err }, 'model gateway flush failed; will retry'));
  }, m.flush_ms);
  timer.unref();

  let closing: Promise<void> | undefined;
  return {
    gateway,
    agentBudgets,
    close: () => {
      closing ??= (async () => {
        clearInterval(timer);
        await flush().catch((err) => log.warn({ err }, 'model gateway final flush failed'));
        redis?.disconnect();
      })();
      return closing;
    },
  };
}
