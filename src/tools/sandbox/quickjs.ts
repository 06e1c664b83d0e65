import { Worker } from 'node:worker_threads';
import type { FromThread, ThreadData, ToThread } from './quickjs-thread.ts';
import type { ExecuteRequest, ExecuteResult, Sandbox, SandboxBackend, SandboxLimits } from './types.ts';

/**
 * How long past its deadline a program may keep its thread before the thread is terminated. The
 * interrupt handler normally stops it at the deadline; this covers a built-in that runs long
 * between interrupt checks.
 */
const HARD_DEADLINE_GRACE_MS = 1_000;
/** Idle threads kept for the next sandboxes; more are terminated on release. */
const MAX_IDLE_THREADS = 8;

const threadEntry = new URL('./quickjs-thread.js', import.meta.url);

/** A worker thread that evaluates QuickJS programs, one at a time. */
class QuickJsThread {
  readonly worker: Worker;
  readonly cancel = new Int32Array(new SharedArrayBuffer(4));
  private pending?: { resolve(m: FromThread): void; reject(e: Error): void };
  dead = false;

  constructor(limits: SandboxLimits) {
    const data: ThreadData = { limits, cancel: this.cancel.buffer as SharedArrayBuffer };
    this.worker = new Worker(threadEntry, { workerData: data, execArgv: [] });
    // An idle thread must not keep the process alive.
    this.worker.unref();
    this.worker.on('message', (m: FromThread) => this.settle((p) => p.resolve(m)));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`the QuickJS thread exited (code ${code})`)));
  }

  /** Sends one message and waits for the thread's answer. */
  request(message: ToThread): Promise<FromThread> {
    if (this.dead) return Promise.reject(new Error('the QuickJS thread is gone'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.ref();
      this.worker.postMessage(message);
    });
  }

  post(message: ToThread): void {
    if (!this.dead) this.worker.postMessage(message);
  }

  terminate(): void {
    this.dead = true;
    void this.worker.terminate();
  }

  private fail(err: Error): void {
    this.dead = true;
    this.settle((p) => p.reject(err));
  }

  private settle(action: (p: NonNullable<QuickJsThread['pending']>) => void): void {
    const pending = this.pending;
    this.pending = undefined;
    this.worker.unref();
    if (pending) action(pending);
  }
}

interface QuickJsSandbox extends Sandbox {
  thread: QuickJsThread;
  used: boolean;
}

/**
 * QuickJS compiled to WebAssembly, evaluated on worker threads so that a program that spins never
 * holds up the server's event loop. Each sandbox is a fresh interpreter (its own WebAssembly instance
 * and memory) prepared on a thread; the threads are kept and reused, the interpreters never are.
 * The code sees the ECMAScript built-ins, `console.log`/`console.error` (captured, size-limited) and
 * `input` (a JSON copy of what the caller hands in) — no host objects, no I/O, no timers, no modules.
 */
export class QuickJsBackend implements SandboxBackend<QuickJsSandbox> {
  readonly type = 'quickjs';
  private seq = 0;
  private readonly idle: QuickJsThread[] = [];

  constructor(private readonly limits: SandboxLimits) {}

  describe(): Record<string, unknown> {
    return {
      engine: 'quickjs-emscripten (release-sync WebAssembly variant)',
      instance: 'one WebAssembly instance per sandbox, evaluated on a worker thread',
      memory_limit_bytes: this.limits.memory_bytes,
      deadline: `interrupt handler; the thread is terminated ${HARD_DEADLINE_GRACE_MS} ms past it`,
      host_objects: ['console.log', 'console.error', 'input (JSON copy)'],
    };
  }

  async acquire(): Promise<QuickJsSandbox> {
    const thread = this.idle.pop() ?? new QuickJsThread(this.limits);
    const answer = await thread.request({ type: 'prepare' }).catch((err: Error) => {
      thread.terminate();
      throw err;
    });
    if (answer.type !== 'prepared') {
      thread.terminate();
      throw new Error(
        answer.type === 'failed' ? answer.message : 'unexpected answer from the QuickJS thread',
      );
    }
    return { id: `quickjs-${process.pid}-${++this.seq}`, type: this.type, thread, used: false };
  }

  async execute(sandbox: QuickJsSandbox, request: ExecuteRequest): Promise<ExecuteResult> {
    if (sandbox.used) throw new Error('a sandbox runs one program only');
    sandbox.used = true;
    const started = performance.now();
    const { thread } = sandbox;
    const timeoutMs = Math.min(request.timeout_ms ?? this.limits.timeout_ms, this.limits.timeout_ms);
    Atomics.store(thread.cancel, 0, 0);
    const onAbort = () => Atomics.store(thread.cancel, 0, 1);
    if (request.signal?.aborted) onAbort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    let hardDeadline: NodeJS.Timeout | undefined;
    const overrun = new Promise<'overrun'>((resolve) => {
      hardDeadline = setTimeout(() => resolve('overrun'), timeoutMs + HARD_DEADLINE_GRACE_MS);
    });
    try {
      const answer = await Promise.race([
        thread.request({
          type: 'run',
          request: { code: request.code, input: request.input, timeout_ms: timeoutMs },
        }),
        overrun,
      ]);
      if (answer === 'overrun') {
        // The program did not stop at its deadline: the thread goes, with everything in it.
        thread.terminate();
        return stopped('timeout', started);
      }
      if (answer.type === 'result') return answer.result;
      throw new Error(
        answer.type === 'failed' ? answer.message : 'unexpected answer from the QuickJS thread',
      );
    } catch (err) {
      // The thread died under the program (its own heap ran out, or it crashed): the host is unaffected.
      thread.terminate();
      return {
        ...stopped('memory', started),
        stderr: `the interpreter stopped: ${(err as Error).message}\n`,
      };
    } finally {
      clearTimeout(hardDeadline);
      request.signal?.removeEventListener('abort', onAbort);
    }
  }

  async release(sandbox: QuickJsSandbox): Promise<void> {
    const { thread } = sandbox;
    if (thread.dead) return;
    if (!sandbox.used) thread.post({ type: 'discard' });
    if (this.idle.length < MAX_IDLE_THREADS) this.idle.push(thread);
    else thread.terminate();
  }
}

function stopped(killed: NonNullable<ExecuteResult['killed']>, started: number): ExecuteResult {
  return {
    exit_code: 1,
    stdout: '',
    stderr: '',
    timed_out: killed === 'timeout',
    truncated: false,
    killed,
    duration_ms: performance.now() - started,
  };
}
