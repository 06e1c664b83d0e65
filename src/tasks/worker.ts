import { hostname } from 'node:os';
import type { Db } from '../db/db.ts';
import { newId } from '../db/ids.ts';
import { toError } from '../errors.ts';
import type { LiveBus } from '../events/bus.ts';
import { announce, EVENTS_TOPIC } from '../events/log.ts';
import type { Logger } from '../observability/logger.ts';
import { tracingEnabled } from '../observability/tracing.ts';
import { fullJitter } from '../resilience/retry.ts';
import { Attempt, type AttemptEnv } from './attempt.ts';
import { claimBatch } from './claim.ts';
import type { Completed } from './complete.ts';
import { CompletionBuffer } from './completion-buffer.ts';
import { listenLocally, parseWake, TASKS_CHANNEL } from './enqueue.ts';
import { failTask } from './fail.ts';
import { type HandlerRegistry, isRetryable } from './handlers.ts';
import { maintainTasksTable } from './maintain.ts';
import type { QueueMetrics } from './metrics.ts';
import { reapExpiredLeases } from './reap.ts';
import { releaseTasks } from './release.ts';
import { renewLeases } from './renew.ts';
import type { ClaimedTask } from './rows.ts';
import { recordClaimSpans, startTaskSpan, taskParent } from './task-spans.ts';
import { CANCEL_TOPIC } from './tasks.ts';
import { every, Waker } from './wake.ts';

export interface WorkerOptions {
  db: Db;
  bus: LiveBus;
  log: Logger;
  handlers: HandlerRegistry;
  metrics?: QueueMetrics;
  /** Attempts run at once by this worker. */
  concurrency: number;
  leaseSeconds: number;
  /** Longest idle wait without a NOTIFY (the fallback poll). */
  pollSeconds: number;
  claimBatch: number;
  /**
   * Tasks claimed ahead of free slots and held in a local queue (leased, not started), so a slot that
   * frees takes its next task at once instead of waiting on a claim round trip. Worth it for short
   * tasks at high rates; for long ones it only holds leases another worker could use. Default 0.
   */
  prefetch?: number;
  retryBaseSeconds: number;
  retryCapSeconds: number;
  tenantMaxRunning: number;
  /** Called when tasks became terminal with a callback to send (wakes the sender). */
  onCallbacks?: () => void;
  /** Stop claiming after this many tasks (`agentry run-once --limit`). */
  maxTasks?: number;
  /** Return from `run()` as soon as nothing is claimable and nothing runs (`run-once`). */
  exitWhenIdle?: boolean;
}

export interface WorkerSummary {
  claimed: number;
  completed: number;
  failed: number;
  retried: number;
}

/**
 * One worker: claims batches of tasks, runs each through its handler with a lease renewed by a
 * shared heartbeat, and records the outcome. Sleeps when there is nothing to claim until a NOTIFY
 * (an enqueue, a hand-back), a freed slot, a known future `run_at`, or the slow fallback poll.
 */
export class Worker {
  readonly owner = `${hostname()}:${process.pid}:${newId().slice(-12)}`;
  readonly summary: WorkerSummary = { claimed: 0, completed: 0, failed: 0, retried: 0 };
  private readonly running = new Map<string, Attempt>();
  /** Claimed ahead (see `prefetch`), in claim order; started as slots free. */
  private readonly queued: ClaimedTask[] = [];
  private readonly completions: CompletionBuffer;
  private stopping = false;
  private stopped?: Promise<void>;
  private loopDone?: Promise<void>;
  private readonly waker = new Waker(() => this.stopping);
  /** `wakes` when a claim last ran out of runnable tasks (-1: it did not). */
  private dryAt = -1;
  /** `summary.claimed` at the last vacuum (PGlite, see maintain.ts). */
  private vacuumedAt = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly cleanups: Array<() => Promise<void>> = [];
  /**
   * With the PostgreSQL live bus (topics are NOTIFY channels), claims and completions announce their
   * streams from inside their own statement: one round trip per batch instead of two.
   */
  private readonly announceOn?: string;
  private readonly attemptEnv: AttemptEnv;

  constructor(private readonly options: WorkerOptions) {
    this.announceOn = options.bus.kind === 'pg_notify' ? EVENTS_TOPIC : undefined;
    this.attemptEnv = { db: options.db, log: options.log, announce: (ids) => this.announce(ids) };
    const onDone = (done: Completed[], attempted: number) => {
      this.summary.completed += done.length;
      options.metrics?.completions.inc(done.length);
      if (done.length < attempted)
        options.log.info({ lost: attempted - done.length }, 'late results discarded');
      if (!this.announceOn) this.announce(done.map((d) => d.id));
      if (done.some((d) => d.has_callback)) options.onCallbacks?.();
      // Written completions leave `in_progress`: a claim that the tenant cap emptied can now succeed.
      this.waker.wake();
    };
    this.completions = new CompletionBuffer(options.db, this.owner, options.log, onDone, this.announceOn);
  }

  /** Starts the loop; resolves when it ends (after `stop()`, or when idle with `exitWhenIdle`). */
  async run(): Promise<WorkerSummary> {
    await this.start();
    await this.loopDone;
    if (this.options.exitWhenIdle) await this.stop(0);
    else await this.stopped;
    return this.summary;
  }

  async start(): Promise<void> {
    if (this.loopDone) return;
    const { db, bus } = this.options;
    const local = listenLocally(db, (at) => this.waker.onWake(at));
    this.cleanups.push(async () => local.stop());
    this.cleanups.push(
      await db.listen(
        TASKS_CHANNEL,
        (payload) => {
          const { at, token } = parseWake(payload);
          if (token !== local.token) this.waker.onWake(at); // not the echo of a local wake-up
        },
        // Enqueues notified while LISTEN was down are lost: claim now rather than at the next poll.
        () => this.waker.wake(),
      ),
    );
    this.cleanups.push(await bus.subscribe(CANCEL_TOPIC, (id) => this.detach(id, 'task cancelled')));
    const leaseMs = this.options.leaseSeconds * 1000;
    const failed = (err: unknown) =>
      this.options.log.warn({ err: toError(err), worker: this.owner }, 'queue housekeeping failed');
    this.timers.push(
      every(leaseMs / 3, () => this.heartbeat(), failed),
      every(Math.min(5000, Math.max(250, leaseMs / 6)), () => this.sweep(), failed),
    );
    // Statistics for a table never analysed come with the first sweep, not before the first claim:
    // the claim's plan is pinned (migration 0016) and does not need them, and an ANALYZE of a
    // 20,000-task backlog held the first claim back 50-90 ms.
    this.loopDone = this.loop();
  }

  /**
   * Graceful stop, idempotent: stop claiming, give running attempts `graceMs` to finish, then abort
   * and hand the rest back at once (not left to expire), flush completions and unsubscribe.
   */
  stop(graceMs = 10_000): Promise<void> {
    this.stopped ??= this.shutdown(graceMs);
    return this.stopped;
  }

  get active(): number {
    return this.running.size;
  }

  // ---- the loop: claim → run → (always) release the slot

  private async loop(): Promise<void> {
    const { db, log } = this.options;
    while (!this.stopping) {
      // Wake-ups counted from here on cut the next sleep short, even one that lands mid-claim.
      const seen = this.waker.wakes;
      // The last claim ran out of runnable tasks and nothing happened since: a freed slot alone
      // (a kick) does not make a claim worth its statement.
      if (this.dryAt === seen) {
        if (this.options.exitWhenIdle && this.running.size === 0 && this.queued.length === 0) break;
        await this.waker.sleep(this.options.pollSeconds * 1000, seen);
        continue;
      }
      const left =
        this.options.maxTasks === undefined ? Infinity : this.options.maxTasks - this.summary.claimed;
      if (left <= 0) {
        if (this.running.size === 0 && this.queued.length === 0) break;
        await this.waker.sleep(this.options.pollSeconds * 1000, seen);
        continue;
      }
      const room =
        this.options.concurrency + (this.options.prefetch ?? 0) - this.running.size - this.queued.length;
      const want = Math.min(room, this.options.claimBatch, left);
      // With work still queued, wait until half a batch fits: every claim has a fixed cost (a round
      // trip, planning, a commit), and topping up a few slots at a time spends it per handful of tasks.
      if (want <= 0 || (this.queued.length > 0 && want < Math.min(this.options.claimBatch, left) / 2)) {
        await this.waker.sleep(this.options.pollSeconds * 1000, seen); // a finishing attempt kicks us
        continue;
      }
      let batch: ClaimedTask[];
      let exhausted: boolean;
      const claimStarted = Date.now();
      try {
        ({ tasks: batch, exhausted } = await claimBatch(db, {
          owner: this.owner,
          limit: want,
          leaseSeconds: this.options.leaseSeconds,
          tenantMaxRunning: this.options.tenantMaxRunning,
          announceOn: this.announceOn,
        }));
      } catch (err) {
        log.warn({ err: toError(err), worker: this.owner }, 'claim failed; retrying');
        await this.waker.sleep(1000, -1);
        continue;
      }
      if (tracingEnabled()) recordClaimSpans(batch, claimStarted, this.owner);
      this.summary.claimed += batch.length;
      this.options.metrics?.claims.inc(batch.length);
      for (const t of batch)
        this.options.metrics?.waited.observe({ task_type: t.task_type }, Number(t.waited_seconds));
      if (batch.length > 0 && !this.announceOn) this.announce(batch.map((t) => t.id));
      this.queued.push(...batch);
      this.pump();
      // PGlite answers in microtasks: without this the loop could claim for a whole backlog and
      // never let a timer (heartbeat, sweep) or an incoming request run.
      await new Promise((r) => setImmediate(r));
      // Idle when the scan ran out of runnable tasks, not on any short batch: the per-tenant cap may
      // have trimmed it, and the next claim then skips the capped tenant.
      this.dryAt = exhausted ? seen : -1;
    }
  }

  /** Starts queued tasks while slots are free (not while stopping: those are handed back). */
  private pump(): void {
    while (!this.stopping && this.running.size < this.options.concurrency && this.queued.length > 0) {
      this.launch(this.queued.shift()!);
    }
  }

  private launch(task: ClaimedTask): void {
    const attempt = new Attempt(task, this.attemptEnv);
    this.running.set(task.id, attempt);
    attempt.done = this.runAttempt(attempt);
  }

  /** Runs an attempt and records its outcome, then frees its slot whatever happened. */
  private async runAttempt(attempt: Attempt): Promise<void> {
    try {
      await this.execute(attempt);
    } catch (err) {
      this.options.log.error({ err: toError(err), task: attempt.task.id }, 'task bookkeeping failed');
    } finally {
      this.running.delete(attempt.task.id);
      this.pump();
      this.waker.kick();
    }
  }

  private async execute(attempt: Attempt): Promise<void> {
    const { task } = attempt;
    const handler = this.options.handlers.resolve(task);
    let outcome: Awaited<ReturnType<typeof handler>>;
    // Without tracing no span is made (a few µs a task): the handler still continues the enqueuer's trace.
    const span = tracingEnabled() ? startTaskSpan(task) : undefined;
    attempt.trace = span ? span.parent : taskParent(task);
    try {
      outcome = await (span ? span.within(() => handler(task, attempt)) : handler(task, attempt));
      span?.end();
    } catch (err) {
      span?.end(err);
      if (attempt.detached) return;
      await this.recordFailure(attempt, err);
      return;
    }
    if (attempt.detached) return;
    this.options.metrics?.attempts.observe(
      { task_type: task.task_type, outcome: 'completed' },
      (performance.now() - attempt.startedAt) / 1000,
    );
    this.completions.add({
      tenant_id: task.tenant_id,
      id: task.id,
      attempt: task.attempt,
      deleteRow: task.delete_on_success,
      result: outcome?.result,
      summary: outcome?.summary ?? null,
      durationMs: performance.now() - attempt.startedAt,
    });
  }

  private async recordFailure(attempt: Attempt, err: unknown): Promise<void> {
    const { task } = attempt;
    const error = toError(err);
    const retryable = isRetryable(err);
    const { retryBaseSeconds: base, retryCapSeconds: cap } = this.options;
    const delay = Math.round(fullJitter(task.attempt - 1, base * 1000, cap * 1000));
    const failed = await failTask(this.options.db, this.owner, {
      tenant_id: task.tenant_id,
      id: task.id,
      attempt: task.attempt,
      error: error.message || error.name,
      retryable,
      retryDelayMs: delay,
      durationMs: performance.now() - attempt.startedAt,
    });
    if (!failed) return; // the lease was lost meanwhile: nothing to record
    this.options.metrics?.attempts.observe(
      { task_type: task.task_type, outcome: failed.status === 'pending' ? 'retry' : 'failed' },
      (performance.now() - attempt.startedAt) / 1000,
    );
    this.announce([task.id]);
    if (failed.status === 'pending') {
      this.summary.retried++;
      this.options.metrics?.failures.inc({ outcome: 'retry' });
      this.waker.wakeAt(failed.run_at.getTime());
    } else {
      this.summary.failed++;
      this.options.metrics?.failures.inc({ outcome: 'failed' });
      if (failed.has_callback) this.options.onCallbacks?.();
    }
  }

  // ---- leases

  private async heartbeat(): Promise<void> {
    const held = [...this.running.values()].filter((r) => !r.detached);
    const waiting = [...this.queued];
    if (held.length + waiting.length === 0) return;
    const kept = await renewLeases(
      this.options.db,
      this.owner,
      [...held.map((r) => r.task), ...waiting],
      this.options.leaseSeconds,
    );
    for (const t of waiting) if (!kept.has(t.id)) this.unqueue(t.id);
    for (const r of held) {
      // Still running and not renewed: another worker may already run it; stop this attempt.
      if (!kept.has(r.task.id) && this.running.get(r.task.id) === r) this.detach(r.task.id, 'lease lost');
    }
  }

  private async maintain(): Promise<void> {
    try {
      const embedded =
        this.options.db.kind === 'pglite' ? { churn: this.summary.claimed - this.vacuumedAt } : undefined;
      const m = await maintainTasksTable(this.options.db, embedded);
      if (m.vacuumed && embedded) this.vacuumedAt += embedded.churn;
      if (m.vacuumed || m.analyzed) this.options.log.debug(m, 'tasks table maintained');
    } catch (err) {
      this.options.log.warn({ err: toError(err), worker: this.owner }, 'tasks table maintenance failed');
    }
  }

  private async sweep(): Promise<void> {
    await this.maintain();
    const reaped = await reapExpiredLeases(this.options.db);
    if (reaped.streams.length === 0) return;
    this.options.metrics?.reaped.inc(reaped.streams.length);
    this.options.log.warn({ requeued: reaped.requeued, failed: reaped.failed }, 'expired leases swept');
    this.announce(reaped.streams);
    if (reaped.callbacks > 0) this.options.onCallbacks?.();
    this.waker.wake();
  }

  /** Drops a queued task that lost its lease or was cancelled before it started. */
  private unqueue(id: string): boolean {
    const i = this.queued.findIndex((t) => t.id === id);
    if (i >= 0) this.queued.splice(i, 1);
    return i >= 0;
  }

  private detach(id: string, reason: string): void {
    if (this.unqueue(id)) return;
    this.running.get(id)?.detach(reason);
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.stopping = true;
    this.waker.wake();
    await this.loopDone;
    // Claimed ahead but never started: other workers can run them now.
    const unstarted = this.queued.splice(0);
    if (unstarted.length > 0) await this.handBack(unstarted);
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    if (this.running.size > 0 && graceMs > 0) {
      await Promise.race([all(), new Promise((r) => setTimeout(r, graceMs).unref())]);
    }
    const rest = [...this.running.values()];
    for (const r of rest) this.detach(r.task.id, 'worker shutting down');
    if (rest.length > 0) {
      await this.handBack(rest.map((r) => r.task));
      // Handlers were aborted; give them a moment to unwind, but never hang on one that ignores it.
      await Promise.race([all(), new Promise((r) => setTimeout(r, 1000).unref())]);
    }
    await this.completions.flush();
    for (const t of this.timers) clearInterval(t);
    this.waker.clear();
    // Stopping: each cleanup releases what it can; one that fails must not keep the others from running.
    for (const cleanup of this.cleanups) await cleanup().catch(() => {});
  }

  /** Tells the streams' followers to read the log (a lost announcement only delays them). */
  private announce(ids: string[]): void {
    // A lost announcement only delays followers until they poll the log.
    void announce(this.options.bus, ids).catch(() => {});
  }

  private async handBack(tasks: ClaimedTask[]): Promise<void> {
    const handed = await releaseTasks(this.options.db, this.owner, tasks).catch((err) => {
      this.options.log.error({ err: toError(err) }, 'could not hand tasks back; their leases will expire');
      return 0;
    });
    this.options.log.info({ handed_back: handed }, 'unfinished tasks handed back');
    this.announce(tasks.map((t) => t.id));
  }
}
