import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SandboxConfig } from '../../../config/sandbox-config.ts';
import { AppError } from '../../../errors.ts';
import type { Logger } from '../../../observability/logger.ts';
import { BwrapBackend, type BwrapSandbox } from '../../../tools/sandbox/bwrap.ts';
import { SHARED_MOUNT } from '../../../tools/sandbox/bwrap-args.ts';
import { detectCgroups } from '../../../tools/sandbox/cgroup.ts';
import { type PoolStats, WarmPool } from '../../../tools/sandbox/pool.ts';
import type { ExecuteResult } from '../../../tools/sandbox/types.ts';
import { Bridge, type BridgeEnd, type BridgeMethod } from './bridge.ts';

const HARNESS = readFileSync(new URL('./harness.mjs', import.meta.url));
const GiB = 1024 ** 3;

/** What the harness hands `handle` besides its input: who is running. */
export interface RunInfo {
  agent: { id: string; name: string };
  session: { id: string };
  run: { id: string };
  task?: { id: string };
}

/**
 * Sandboxes for local-dev agents: bubblewrap sandboxes like the bash tool's, from a warm pool of
 * their own (`sandbox.pools.agent`), each with a shared folder bound read-only at /run/agentry that
 * receives the harness, the agent's bundle and the bridge socket once the sandbox is handed out.
 * Node comes from the read-only /usr. Nothing starts until the first agent needs it, so servers
 * without local-dev agents pay nothing.
 */
export class AgentSandboxes {
  private started?: Promise<WarmPool<BwrapSandbox>>;
  private shareRoot?: string;
  private backend?: BwrapBackend;
  private heapMiB: number;
  private lastError?: string;

  constructor(
    private readonly config: SandboxConfig,
    private readonly log: Logger,
  ) {
    this.heapMiB = Math.max(16, Math.floor(config.limits.memory_bytes / 1024 / 1024));
  }

  /** Loads a bundle in a sandbox: resolves when it loads and exports `handle`, else throws with Node's message. */
  async check(bundle: string, signal?: AbortSignal): Promise<void> {
    const result = await this.inSandbox(bundle, signal, (run) => run('check'));
    const last = result.stdout.trim().split('\n').at(-1) ?? '';
    let report: { ok?: boolean; error?: string } = {};
    try {
      report = JSON.parse(last);
    } catch {
      // Not the harness's report (it died before writing one): the exit and stderr say why below.
    }
    if (report.ok === true && result.exit_code === 0) return;
    throw new AppError('unprocessable', `the bundle did not load: ${report.error ?? failure(result)}`);
  }

  /** Runs handle(input, ctx) with `methods` answering ctx; the harness's report of how it ended. */
  async run(options: {
    bundle: string;
    input: unknown;
    info: RunInfo;
    methods: Record<string, BridgeMethod>;
    signal: AbortSignal;
  }): Promise<{ end?: BridgeEnd; result: ExecuteResult }> {
    return this.inSandbox(options.bundle, options.signal, async (run, shared) => {
      const token = randomBytes(24).toString('base64url');
      const bridge = await Bridge.listen(path.join(shared, 'bridge.sock'), token, options.methods);
      try {
        const result = await run('run', JSON.stringify({ token, input: options.input, info: options.info }));
        return { end: bridge.ended, result };
      } finally {
        await bridge.close();
      }
    });
  }

  /** For /health: idle until the first local-dev agent runs; then its pool and isolation, or why it cannot run. */
  async healthReport(): Promise<{ status: 'ok' | 'degraded'; detail: Record<string, unknown> }> {
    // A pool that failed to start left its reason in lastError, read below.
    const pool = await this.started?.catch(() => undefined);
    if (pool) return { status: 'ok', detail: { pool: pool.stats(), isolation: pool.backend.describe() } };
    if (this.lastError) return { status: 'degraded', detail: { unavailable: this.lastError } };
    return { status: 'ok', detail: { pool: 'starts with the first local-dev agent run or deploy' } };
  }

  /**
   * For /v1/pools/agent/stats. The pool starts with the first local-dev agent, so until then every
   * count is zero (true: nothing was created); 503 when it is turned off or could not start.
   */
  async stats(): Promise<PoolStats> {
    if (this.config.pools.agent.size === 0)
      throw new AppError('unavailable', 'local-dev agents are turned off (sandbox.pools.agent.size is 0)');
    // A pool that failed to start left its reason in lastError, read below.
    const pool = await this.started?.catch(() => undefined);
    // The backend is bubblewrap, but this pool is the agent pool, not the bash tool's.
    if (pool) return { ...pool.stats(), type: 'agent' };
    if (this.lastError)
      throw new AppError('unavailable', `local-dev agents cannot run here: ${this.lastError}`);
    const zero = { ready: 0, busy: 0, preparing: 0, waiting: 0, created: 0, destroyed: 0, failed: 0 };
    return { type: 'agent', ...zero, acquire_wait_ms: { p50: 0, p99: 0 } };
  }

  /** Takes a sandbox from the agent pool and keeps it for one caller until `release` (isA's pool instances). */
  async hold(signal?: AbortSignal): Promise<{ release: () => void }> {
    const pool = await this.pool();
    const sandbox = await pool.acquire(signal).catch((err: unknown) => {
      throw err instanceof AppError
        ? new AppError('unavailable', `no agent sandbox free: ${err.message}`)
        : err;
    });
    let held = true;
    return {
      release: () => {
        if (held) pool.release(sandbox);
        held = false;
      },
    };
  }

  async stop(): Promise<void> {
    // A pool that failed to start has nothing to stop (its reason is in lastError).
    const pool = await this.started?.catch(() => undefined);
    await pool?.stop();
    this.backend?.stop();
    if (this.shareRoot) rmSync(this.shareRoot, { recursive: true, force: true });
  }

  private async inSandbox<T>(
    bundle: string,
    signal: AbortSignal | undefined,
    body: (
      run: (mode: 'check' | 'run', stdin?: string) => Promise<ExecuteResult>,
      shared: string,
    ) => Promise<T>,
  ): Promise<T> {
    const pool = await this.pool();
    let sandbox: BwrapSandbox;
    try {
      sandbox = await pool.acquire(signal);
    } catch (err) {
      if (err instanceof AppError) throw new AppError('unavailable', `no agent sandbox free: ${err.message}`);
      throw err;
    }
    try {
      const shared = sandbox.shared!;
      writeFileSync(path.join(shared, 'harness.mjs'), HARNESS, { mode: 0o644 });
      writeFileSync(path.join(shared, 'agent.mjs'), bundle, { mode: 0o644 });
      const run = (mode: 'check' | 'run', stdin?: string) =>
        pool.backend.execute(sandbox, {
          code: `exec /usr/bin/node --max-old-space-size=${this.heapMiB} ${SHARED_MOUNT}/harness.mjs ${mode}`,
          stdin,
          signal,
        });
      return await body(run, shared);
    } finally {
      pool.release(sandbox);
    }
  }

  private pool(): Promise<WarmPool<BwrapSandbox>> {
    this.started ??= this.start();
    return this.started;
  }

  private async start(): Promise<WarmPool<BwrapSandbox>> {
    const { config, log } = this;
    if (config.pools.agent.size === 0)
      throw new AppError('unavailable', 'local-dev agents are turned off (sandbox.pools.agent.size is 0)');
    const cgroups = detectCgroups(config.limit_mode, log);
    // Without a cgroup the memory limit is an address-space rlimit, and V8 reserves about 1 GiB of
    // address space before it runs a line; the heap limit below still bounds what the agent uses.
    const limits =
      cgroups.mode === 'rlimits'
        ? { ...config.limits, memory_bytes: Math.max(config.limits.memory_bytes, 2 * GiB) }
        : config.limits;
    this.shareRoot = mkdtempSync(path.join(tmpdir(), 'agentry-agents-'));
    chmodSync(this.shareRoot, 0o711);
    const backend = new BwrapBackend({
      limits,
      cgroups,
      bwrapPath: config.bwrap_path,
      shareDir: this.shareRoot,
    });
    try {
      await backend.start();
    } catch (err) {
      backend.stop();
      rmSync(this.shareRoot, { recursive: true, force: true });
      this.started = undefined; // the next call tries again (bubblewrap may get installed)
      this.lastError = (err as Error).message;
      throw new AppError('unavailable', `local-dev agents cannot run here: ${(err as Error).message}`);
    }
    this.backend = backend;
    const pool = new WarmPool(backend, config.pools.agent, log);
    pool.start();
    return pool;
  }
}

/** Why a sandbox run produced no report: killed by a limit, or Node's own last words. */
export function failure(result: ExecuteResult): string {
  if (result.killed === 'timeout')
    return `it did not finish within the time limit (${Math.round(result.duration_ms)} ms)`;
  if (result.killed === 'memory') return 'it ran out of memory';
  if (result.killed === 'output_limit') return 'it wrote more output than allowed';
  if (result.killed === 'cancelled') return 'it was cancelled';
  const tail = result.stderr.trim().split('\n').slice(-8).join('\n');
  return `it exited with ${result.exit_code}${tail ? `: ${tail}` : ''}`;
}
