import type { ResolvedModel } from './catalog.ts';
import type { CallContext } from './types.ts';

/** What the gateway knows about a call before it is made: enough to reserve its worst case. */
export interface AdmissionRequest {
  ctx: CallContext;
  model: ResolvedModel;
  promptTokens: number;
  /** Prompt tokens + max_tokens (or the configured default): the most this call can use. */
  worstTokens: number;
  /** The worst case priced at the dearest model of the fallback chain. */
  worstCost: number;
}

/** A reservation held for one call; settled exactly once with what the call really used. */
export interface Ticket {
  settle(actual: { tokens: number; cost: number }): void;
}

/** Rate limits and budgets: admits a call (reserving its worst case) or throws 429/503. */
export interface Admission {
  admit(request: AdmissionRequest): Promise<Ticket> | Ticket;
}
