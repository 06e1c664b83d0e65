import { Worker } from 'node:worker_threads';
import { AppError } from '../../errors.ts';
import { Deadline } from '../../resilience/deadline.ts';
import { type FromThread, THREAD_DATA, type ToThread } from './encoder-thread.ts';

const threadEntry = new URL('./encoder-thread.js', import.meta.url);

export interface EncoderPoolOptions {
  /** Threads at most, each with its own copy of the model (~60 MB once loaded). */
  threads: number;
  /** How long one job may take, its wait for a thread included. */
  deadlineMs: number;
}

interface Job {
  texts: string[];
  deadline: Deadline;
  deadlineMs: number;
  /** The caller's: when it aborts, the caller is answered at once (see `callerGone`). */
  signal?: AbortSignal;
  onCallerGone: () => void;
  thread?: EncoderThread;
  settled: boolean;
  resolve(vectors: number[][]): void;
  reject(err: unknown): void;
}

/** A worker thread that holds the model and runs one job at a time. */
class EncoderThread {
  readonly worker = new Worker(threadEntry, { execArgv: [], workerData: THREAD_DATA });
  job?: Job;
  /** Terminated by the pool: its exit is expected, its job already answered. */
  retired = false;

  constructor(
    onAnswer: (t: EncoderThread, m: FromThread) => void,
    onGone: (t: EncoderThread, e: Error) => void,
  ) {
    // An idle thread must not keep the process alive; one with a job does (`ref` while it runs).
    this.worker.unref();
    this.worker.on('message', (m: FromThread) => onAnswer(this, m));
    this.worker.on('error', (err) => onGone(this, err));
    this.worker.on('exit', (code) =>
      onGone(this, new Error(`the offline encoder thread exited (code ${code})`)),
    );
  }
}

/**
 * Worker threads that run the offline encoder, so that encoding never blocks the event loop. Threads
 * start when a job needs one (none while nothing is embedded) up to `threads`; jobs wait in order for
 * a free one. Each job has a deadline from the moment it is asked for: past it the job fails with a
 * 504 (`gateway_timeout`), and if it was running, its thread is terminated, so a stuck job cannot
 * hold the pool; the next job that needs a thread starts a fresh one.
 */
export class EncoderPool {
  private readonly threads = new Set<EncoderThread>();
  private readonly waiting: Job[] = [];
  private closed = false;
  /** Threads started since the pool was made, replacements included. */
  threadsStarted = 0;

  constructor(private readonly options: EncoderPoolOptions) {}

  /**
   * Embeds `texts` on a thread: one vector per text, in order. `signal`: the caller gone, it is
   * answered at once. `deadlineMs`: this job's own, shorter or longer than the pool's.
   */
  run(
    texts: string[],
    { signal, deadlineMs }: { signal?: AbortSignal; deadlineMs?: number } = {},
  ): Promise<number[][]> {
    if (this.closed) return Promise.reject(new AppError('unavailable', 'the offline encoder is shut down'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (texts.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const job: Job = {
        texts,
        deadline: new Deadline(deadlineMs ?? this.options.deadlineMs),
        deadlineMs: deadlineMs ?? this.options.deadlineMs,
        signal,
        onCallerGone: () => this.callerGone(job),
        settled: false,
        resolve,
        reject,
      };
      job.deadline.signal.addEventListener('abort', () => this.deadlinePassed(job), { once: true });
      signal?.addEventListener('abort', job.onCallerGone, { once: true });
      this.waiting.push(job);
      this.dispatch();
    });
  }

  /** Fails the jobs still waiting or running and terminates every thread. */
  async close(): Promise<void> {
    this.closed = true;
    const gone = new AppError('unavailable', 'the offline encoder is shutting down');
    for (const job of this.waiting.splice(0)) this.settle(job, gone);
    const threads = [...this.threads];
    for (const t of threads) {
      const job = t.job;
      t.job = undefined;
      if (job) this.settle(job, gone);
    }
    await Promise.all(threads.map((t) => this.retire(t)));
  }

  /** Hands waiting jobs to idle threads, starting threads up to the limit. */
  private dispatch(): void {
    while (this.waiting.length > 0 && !this.closed) {
      let thread = [...this.threads].find((t) => !t.job);
      if (!thread) {
        if (this.threads.size >= this.options.threads) return;
        thread = new EncoderThread(
          (t, m) => this.answered(t, m),
          (t, e) => this.gone(t, e),
        );
        this.threads.add(thread);
        this.threadsStarted += 1;
      }
      const job = this.waiting.shift()!;
      job.thread = thread;
      thread.job = job;
      thread.worker.ref();
      thread.worker.postMessage({ type: 'embed', texts: job.texts } satisfies ToThread);
    }
  }

  private answered(thread: EncoderThread, m: FromThread): void {
    const job = thread.job;
    thread.job = undefined;
    thread.worker.unref();
    if (job) {
      if (m.type === 'embedded') this.settle(job, undefined, vectorsOf(m.vectors, m.dims, job.texts.length));
      else this.settle(job, new Error(`the offline encoder failed: ${m.message}`));
    }
    this.dispatch();
  }

  /** The thread died under its job (out of memory, a crash): the job fails, a new thread serves the next. */
  private gone(thread: EncoderThread, err: Error): void {
    if (thread.retired) return;
    thread.retired = true;
    this.threads.delete(thread);
    const job = thread.job;
    thread.job = undefined;
    if (job)
      this.settle(job, new Error(`the offline encoder thread stopped: ${err.message}`, { cause: err }));
    void thread.worker.terminate();
    this.dispatch();
  }

  private deadlinePassed(job: Job): void {
    const queued = this.waiting.indexOf(job);
    if (queued >= 0) this.waiting.splice(queued, 1);
    const thread = job.thread;
    if (thread?.job === job) {
      // The job holds its thread past its deadline: the thread goes with it (terminating stops even
      // a synchronous loop), and the job's place in the pool is free for the next.
      thread.job = undefined;
      void this.retire(thread);
    }
    this.settle(
      job,
      new AppError(
        'gateway_timeout',
        `the offline encoder did not embed ${job.texts.length} texts within ${job.deadlineMs} ms ` +
          '(models.offline_encoder.deadline_ms)',
      ),
    );
    this.dispatch();
  }

  /**
   * The caller went away: it is answered now. A waiting job leaves the queue; a running one finishes
   * on its thread (bounded by its deadline), its vectors unread, which costs less than terminating
   * the thread and loading the model again.
   */
  private callerGone(job: Job): void {
    const queued = this.waiting.indexOf(job);
    if (queued >= 0) this.waiting.splice(queued, 1);
    this.settle(job, job.signal?.reason);
  }

  private retire(thread: EncoderThread): Promise<number> {
    thread.retired = true;
    this.threads.delete(thread);
    return thread.worker.terminate();
  }

  /** Answers the job's caller once; its timers and listeners are cleared once it is off a thread. */
  private settle(job: Job, err: unknown, vectors?: number[][]): void {
    if (job.thread?.job !== job) {
      job.deadline.clear();
      job.signal?.removeEventListener('abort', job.onCallerGone);
    }
    if (job.settled) return;
    job.settled = true;
    if (vectors) job.resolve(vectors);
    else job.reject(err);
  }
}

/** Numbers back from the float32s the thread sent: the same values the model's `array()` gave. */
function vectorsOf(flat: Float32Array, dims: number, count: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < count; i++) out.push(Array.from(flat.subarray(i * dims, (i + 1) * dims)));
  return out;
}
