import type { Usage } from './types.ts';

/** The parts of a call's tokens that are priced or shown apart, read from the usage's details. */
export interface TokenDetails {
  /** Prompt tokens read from the provider's cache (OpenAI's `cached_tokens`, Anthropic's cache reads). */
  cachedInput: number;
  /** Prompt tokens written to the provider's cache (Anthropic's cache creation). */
  cacheWrite: number;
  /** Completion tokens spent thinking (`reasoning_tokens`). */
  reasoning: number;
}

/** A count the provider sent, or 0 when it sent none (or not a count). */
function count(details: Record<string, unknown> | undefined, field: string): number {
  const v = details?.[field];
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

export function tokenDetails(u: Usage): TokenDetails {
  return {
    cachedInput: count(u.prompt_tokens_details, 'cached_tokens'),
    cacheWrite: count(u.prompt_tokens_details, 'cache_write_tokens'),
    reasoning: count(u.completion_tokens_details, 'reasoning_tokens'),
  };
}

/**
 * A call's usage from a vendor that counts cache reads and writes apart from the other input
 * tokens (Anthropic, Bedrock): prompt tokens include both, as OpenAI counts them, with the parts in
 * `prompt_tokens_details`.
 */
export function usageWithCache(c: { input: number; read: number; write: number; output: number }): Usage {
  const prompt = c.input + c.read + c.write;
  return {
    prompt_tokens: prompt,
    completion_tokens: c.output,
    total_tokens: prompt + c.output,
    ...((c.read > 0 || c.write > 0) && {
      prompt_tokens_details: { cached_tokens: c.read, cache_write_tokens: c.write },
    }),
  };
}

/** No tokens yet: what a run's or a round's usage starts from. */
export const zeroUsage = (): Usage => ({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });

/** Two usages summed by their token counts (the details of either are not carried over). */
export function addUsage(a: Usage, b: Usage): Usage {
  return {
    prompt_tokens: a.prompt_tokens + b.prompt_tokens,
    completion_tokens: a.completion_tokens + b.completion_tokens,
    total_tokens: a.total_tokens + b.total_tokens,
  };
}
