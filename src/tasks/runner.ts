import type { Config } from '../config/config.ts';
import type { TenantPolicies } from '../config/tenant-policy.ts';
import type { Db } from '../db/db.ts';
import type { LiveBus } from '../events/bus.ts';
import type { OutboundNetwork } from '../net/outbound.ts';
import type { Logger } from '../observability/logger.ts';
import type { CallbackSecrets } from './callback-secrets.ts';
import { CallbackSender } from './callback-sender.ts';
import type { HandlerRegistry } from './handlers.ts';
import type { QueueMetrics } from './metrics.ts';
import { Scheduler } from './scheduler.ts';
import { Worker, type WorkerOptions } from './worker.ts';
import { WorkerPresence } from './worker-presence.ts';

export interface QueueRunnerDeps {
  db: Db;
  bus: LiveBus;
  log: Logger;
  handlers: HandlerRegistry;
  metrics?: QueueMetrics;
  tasks: Config['tasks'];
  policies: TenantPolicies;
  secrets: CallbackSecrets;
  /** DNS and routing of the guarded client callbacks go out with (tests only). */
  network?: OutboundNetwork;
  /** The process's fleet role, shown with its heartbeat row. */
  role?: string;
}

/**
 * Everything a process runs to work the queue: the worker, the schedule ticker and the callback
 * sender. `agentry serve` starts one in-process; `agentry worker` runs one alone against PostgreSQL.
 */
export class QueueRunner {
  readonly worker: Worker;
  readonly scheduler: Scheduler;
  readonly callbacks: CallbackSender;
  /** This process's row in `queue_workers`, so /health knows a worker is alive (see worker-presence.ts). */
  private readonly presence: WorkerPresence;
  private stopping?: Promise<void>;

  private readonly metrics?: QueueRunnerDeps['metrics'];
  private readonly concurrency: number;

  constructor(deps: QueueRunnerDeps, overrides: Partial<WorkerOptions> = {}) {
    const t = deps.tasks;
    this.metrics = deps.metrics;
    this.concurrency = overrides.concurrency ?? t.workers;
    this.callbacks = new CallbackSender({
      db: deps.db,
      log: deps.log,
      policies: deps.policies,
      secrets: deps.secrets,
      network: deps.network,
      maxAttempts: t.callback_max_attempts,
      retryBaseSeconds: t.callback_retry_base_seconds,
      retryCapSeconds: t.callback_retry_cap_seconds,
      timeoutSeconds: t.callback_timeout_seconds,
      pollSeconds: t.poll_seconds,
    });
    this.worker = new Worker({
      db: deps.db,
      bus: deps.bus,
      log: deps.log,
      handlers: deps.handlers,
      metrics: deps.metrics,
      concurrency: t.workers,
      leaseSeconds: t.lease_seconds,
      pollSeconds: t.poll_seconds,
      claimBatch: t.claim_batch,
      retryBaseSeconds: t.retry_base_seconds,
      retryCapSeconds: t.retry_cap_seconds,
      tenantMaxRunning: t.tenant_max_running,
      onCallbacks: () => this.callbacks.wake(),
      ...overrides,
    });
    this.scheduler = new Scheduler({ db: deps.db, log: deps.log, pollSeconds: t.poll_seconds });
    this.presence = new WorkerPresence({
      db: deps.db,
      log: deps.log,
      id: this.worker.owner,
      role: deps.role ?? 'all',
      slots: this.concurrency,
      aliveSeconds: t.lease_seconds,
    });
  }

  async start(): Promise<void> {
    await this.worker.start();
    this.scheduler.start();
    this.callbacks.start();
    await this.presence.start();
    this.metrics?.workers.inc(this.concurrency);
  }

  /** Idempotent graceful stop: the worker hands back what does not finish within `graceMs`. */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= (async () => {
      this.metrics?.workers.dec(this.concurrency);
      // Claims no more from here on: the fleet sees one worker fewer at once.
      await this.presence.stop();
      await Promise.all([this.worker.stop(graceMs), this.scheduler.stop(), this.callbacks.stop()]);
    })();
    return this.stopping;
  }
}
