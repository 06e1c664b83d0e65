import { createHash } from 'node:crypto';

/** Dimensions of the mock's hashed embeddings when the call names none. */
export const MOCK_EMBED_DIMENSIONS = 256;

/**
 * Deterministic embeddings with no model: each word (lower-cased) is hashed to a dimension and a
 * sign (feature hashing), and the sum is scaled to unit length. Texts sharing words come out close,
 * so retrieval demos behave sensibly offline; the same text always gives the same vector.
 */
export function hashedEmbedding(text: string, dimensions = MOCK_EMBED_DIMENSIONS): number[] {
  const v = new Array<number>(dimensions).fill(0);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    const h = createHash('sha256').update(word).digest();
    v[h.readUInt32BE(0) % dimensions]! += h[4]! & 1 ? 1 : -1;
  }
  const norm = Math.sqrt(v.reduce((n, x) => n + x * x, 0));
  // An empty text gets a fixed unit vector rather than zeros (cosine of zeros is undefined).
  if (norm === 0) return v.map((_, i) => (i === 0 ? 1 : 0));
  return v.map((x) => x / norm);
}
