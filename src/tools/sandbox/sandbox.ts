import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { SandboxConfig } from '../../config/sandbox-config.ts';
import { AppError } from '../../errors.ts';
import type { HealthRegistry } from '../../observability/health.ts';
import type { Logger } from '../../observability/logger.ts';
import { CircuitBreaker } from '../../resilience/breaker.ts';
import { BwrapBackend, type SandboxProcess } from './bwrap.ts';
import type { SandboxBind } from './bwrap-args.ts';
import { detectCgroups } from './cgroup.ts';
import { type PoolStats, WarmPool } from './pool.ts';
import { QuickJsBackend } from './quickjs.ts';
import { type ExecuteRequest, type ExecuteResult, SandboxRefusal } from './types.ts';

export type SandboxType = 'bwrap' | 'quickjs';
const SANDBOX_TYPES: readonly SandboxType[] = ['bwrap', 'quickjs'];

export interface SandboxServiceDeps {
  config: SandboxConfig;
  log: Logger;
  health: HealthRegistry;
  registry: Registry;
}

const BREAKER_VALUE = { closed: 0, half_open: 1, open: 2 } as const;

/**
 * The sandboxed-execution service: one warm pool per backend that could start, per-tool circuit
 * breakers, and the /health and metrics views of both. A backend that cannot isolate on this
 * machine is recorded with the reason, and every call for it fails with that reason: code is never
 * run on the host instead.
 */
export class SandboxService {
  private readonly pools = new Map<SandboxType, WarmPool>();
  private readonly unavailable = new Map<SandboxType, string>();
  /** Backends turned off in config: unavailable by choice, so not a degraded health. */
  private readonly off = new Set<SandboxType>();
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly waitHistogram: Histogram<'type'>;
  private readonly runs: Counter<'tool' | 'outcome'>;
  private bwrap?: BwrapBackend;
  private limitMode = 'rlimits';

  constructor(private readonly deps: SandboxServiceDeps) {
    const { registry } = deps;
    const pools = this.pools;
    const poolGauge = (name: string, help: string, pick: (s: PoolStats) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['type'],
        registers: [registry],
        collect() {
          for (const pool of pools.values()) this.set({ type: pool.type }, pick(pool.stats()));
        },
      });
    poolGauge('agentry_sandbox_pool_ready', 'Sandboxes ready in the warm pool', (s) => s.ready);
    poolGauge('agentry_sandbox_pool_busy', 'Sandboxes running a program', (s) => s.busy);
    poolGauge('agentry_sandbox_pool_waiting', 'Acquires waiting for a sandbox', (s) => s.waiting);
    // The pools count these themselves; a scrape adds what each pool counted since the last one, so
    // the series are counters (rate() works, promtool accepts the _total names).
    const poolCounter = (name: string, help: string, pick: (s: PoolStats) => number) => {
      const counted = new WeakMap<WarmPool, number>();
      new Counter({
        name,
        help,
        labelNames: ['type'],
        registers: [registry],
        collect() {
          for (const pool of pools.values()) {
            const now = pick(pool.stats());
            this.inc({ type: pool.type }, Math.max(0, now - (counted.get(pool) ?? 0)));
            counted.set(pool, now);
          }
        },
      });
    };
    poolCounter('agentry_sandbox_created_total', 'Sandboxes created', (s) => s.created);
    poolCounter('agentry_sandbox_destroyed_total', 'Sandboxes destroyed', (s) => s.destroyed);
    poolCounter('agentry_sandbox_failed_total', 'Sandboxes that failed to start', (s) => s.failed);
    this.waitHistogram = new Histogram({
      name: 'agentry_sandbox_acquire_wait_seconds',
      help: 'Time an acquire waited for a sandbox',
      labelNames: ['type'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.runs = new Counter({
      name: 'agentry_sandbox_tool_runs_total',
      help: 'Sandboxed tool calls by outcome (ok, error, timeout, killed, disabled, unavailable)',
      labelNames: ['tool', 'outcome'],
      registers: [registry],
    });
    const breakers = this.breakers;
    new Gauge({
      name: 'agentry_tool_breaker_state',
      help: 'Per-tool circuit breaker: 0 closed, 1 half-open, 2 open',
      labelNames: ['tool'],
      registers: [registry],
      collect() {
        for (const b of breakers.values()) this.set({ tool: b.name }, BREAKER_VALUE[b.state]);
      },
    });
  }

  /** Starts each configured backend; one that cannot isolate here is recorded as unavailable. */
  async start(): Promise<void> {
    const { config, log } = this.deps;
    if (config.pools.bwrap.size > 0) {
      const cgroups = detectCgroups(config.limit_mode, log);
      this.limitMode = cgroups.mode;
      const bwrap = new BwrapBackend({ limits: config.limits, cgroups, bwrapPath: config.bwrap_path });
      try {
        await bwrap.start();
        this.bwrap = bwrap;
        this.addPool('bwrap', new WarmPool(bwrap, config.pools.bwrap, log));
      } catch (err) {
        bwrap.stop();
        this.unavailable.set('bwrap', (err as Error).message);
        log.warn({ reason: (err as Error).message }, 'bash sandboxes are unavailable');
      }
    } else {
      this.off.add('bwrap');
      this.unavailable.set('bwrap', 'the bwrap sandbox pool is turned off (sandbox.pools.bwrap.size is 0)');
    }
    if (config.pools.quickjs.size > 0) {
      this.addPool('quickjs', new WarmPool(new QuickJsBackend(config.limits), config.pools.quickjs, log));
    } else {
      this.off.add('quickjs');
      this.unavailable.set(
        'quickjs',
        'the quickjs sandbox pool is turned off (sandbox.pools.quickjs.size is 0)',
      );
    }
    this.deps.health.register('sandbox', { essential: false, run: async () => this.healthReport() });
  }

  async stop(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.stop()));
    this.bwrap?.stop();
  }

  /** Pool statistics, or 404 for an unknown type and 503 for a backend that is not running. */
  stats(type: string): PoolStats {
    if (!SANDBOX_TYPES.includes(type as SandboxType))
      throw new AppError('not_found', `sandbox pool ${type} not found`);
    const pool = this.pools.get(type as SandboxType);
    if (!pool)
      throw new AppError(
        'unavailable',
        this.unavailable.get(type as SandboxType) ?? `${type} is not running`,
      );
    return pool.stats();
  }

  /** The pool a held sandbox comes from: bubblewrap's when it runs here, else quickjs's. */
  holdType(): SandboxType {
    return this.pools.has('bwrap') || !this.pools.has('quickjs') ? 'bwrap' : 'quickjs';
  }

  /** Why no sandbox can be held here (the pool `hold` takes from does not run), or undefined. */
  holdUnavailable(): string | undefined {
    const type = this.holdType();
    return this.pools.has(type) ? undefined : (this.unavailable.get(type) ?? `${type} is not running`);
  }

  /**
   * Takes a sandbox from the warm pool and keeps it for one caller until `release` (isA's pool
   * instances): it counts as busy in the pool's statistics and stays out of other calls' way.
   */
  async hold(signal?: AbortSignal): Promise<{ type: SandboxType; release: () => void }> {
    const type = this.holdType();
    const pool = this.pools.get(type);
    if (!pool) throw new AppError('unavailable', this.unavailable.get(type) ?? `${type} is not running`);
    const sandbox = await pool.acquire(signal);
    let held = true;
    return {
      type,
      release: () => {
        if (held) pool.release(sandbox);
        held = false;
      },
    };
  }

  /** Runs one program in a fresh sandbox of `type`, on behalf of `tool` (its breaker counts infrastructure failures). */
  async run(tool: string, type: SandboxType, request: ExecuteRequest): Promise<ExecuteResult> {
    const pool = this.pools.get(type);
    if (!pool) {
      this.runs.inc({ tool, outcome: 'unavailable' });
      throw new SandboxRefusal(`${tool} is not available: ${this.unavailable.get(type)}`);
    }
    const breaker = this.breaker(tool);
    if (!breaker.acquire()) {
      this.runs.inc({ tool, outcome: 'disabled' });
      throw new SandboxRefusal(
        `${tool} is temporarily disabled after repeated sandbox failures; try again in ${Math.ceil(breaker.retryInMs() / 1000)} s`,
      );
    }
    const waitStarted = performance.now();
    let sandbox: Awaited<ReturnType<typeof pool.acquire>>;
    try {
      sandbox = await pool.acquire(request.signal);
    } catch (err) {
      if (request.signal?.aborted) breaker.release();
      else breaker.failure();
      this.runs.inc({ tool, outcome: 'unavailable' });
      if (err instanceof AppError)
        throw new SandboxRefusal(`${tool} could not get a sandbox: ${err.message}`);
      throw err;
    }
    this.waitHistogram.observe({ type }, (performance.now() - waitStarted) / 1000);
    try {
      const result = await pool.backend.execute(sandbox, request);
      breaker.success();
      this.runs.inc({ tool, outcome: result.killed ?? (result.exit_code === 0 ? 'ok' : 'error') });
      return result;
    } catch (err) {
      breaker.failure();
      this.runs.inc({ tool, outcome: 'failed' });
      throw err;
    } finally {
      pool.release(sandbox);
    }
  }

  /**
   * A long-lived program (an MCP stdio server) in a bwrap sandbox of its own, with `binds` shown
   * read-only inside. Outside the warm pool: pool sandboxes are single-use and carry no binds. Fails
   * closed, with the reason, when bwrap sandboxes are unavailable here. `close` destroys the sandbox.
   */
  async openProcess(
    tool: string,
    code: string,
    binds: readonly SandboxBind[],
  ): Promise<{ process: SandboxProcess; close: () => Promise<void> }> {
    const bwrap = this.bwrap;
    if (!bwrap || !this.pools.has('bwrap')) {
      throw new SandboxRefusal(`${tool} is not available: ${this.unavailable.get('bwrap')}`);
    }
    const sandbox = await bwrap.acquire({ binds });
    return { process: bwrap.open(sandbox, code), close: () => bwrap.release(sandbox) };
  }

  private addPool(type: SandboxType, pool: WarmPool): void {
    this.pools.set(type, pool);
    pool.start();
  }

  private breaker(tool: string): CircuitBreaker {
    let breaker = this.breakers.get(tool);
    if (!breaker) {
      breaker = new CircuitBreaker(tool, this.deps.config.breaker);
      this.breakers.set(tool, breaker);
    }
    return breaker;
  }

  private healthReport() {
    const breakers = Object.fromEntries([...this.breakers.values()].map((b) => [b.name, b.state]));
    const backends: Record<string, unknown> = {};
    for (const type of SANDBOX_TYPES) {
      const pool = this.pools.get(type);
      backends[type] = pool
        ? { status: 'ok', isolation: pool.backend.describe(), pool: pool.stats() }
        : { status: 'unavailable', reason: this.unavailable.get(type) };
    }
    const anyOpen = Object.values(breakers).includes('open');
    return {
      status:
        [...this.unavailable.keys()].some((t) => !this.off.has(t)) || anyOpen
          ? ('degraded' as const)
          : ('ok' as const),
      detail: { limits: this.limitMode, backends, breakers },
    };
  }
}
