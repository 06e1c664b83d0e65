import type { ModelTimeouts } from '../config/models-config.ts';
import { AppError } from '../errors.ts';
import { traceparentOf } from '../observability/spans.ts';
import { type BreakerOptions, CircuitBreaker } from '../resilience/breaker.ts';
import { backoffMs, type RetryOptions } from '../resilience/retry.ts';
import type { Ticket } from './admission.ts';
import { CallSignal, pause } from './call-signal.ts';
import type { ResolvedModel } from './catalog.ts';
import { asUpstreamError, TimeoutReason, toAppError } from './errors.ts';
import type { ProviderCall } from './provider.ts';
import type { CallSpan } from './telemetry.ts';
import type { CallContext, CompletionRequest } from './types.ts';

/** One call on its way through the gateway. */
export interface Call {
  request: CompletionRequest;
  ctx: CallContext;
  candidates: ResolvedModel[];
  promptTokens: number;
  ticket: Ticket;
  span: CallSpan;
  started: number;
  /** Time spent waiting on providers (calls and retry pauses): the rest is the gateway's own. */
  upstreamMs: number;
  attempts: number;
}

/** The attempt that answered: its model, its value, and what to clean up when the call is over. */
export interface ModelAttempt<T> {
  model: ResolvedModel;
  value: T;
  /** Aborts the attempt (the caller stopped reading, a timeout). */
  signal: CallSignal;
  /** Clears the attempt's timers and signal links. */
  done: () => void;
}

export type AttemptRun<T> = (
  model: ResolvedModel,
  pc: ProviderCall & { signal: CallSignal },
  t: ModelTimeouts,
) => Promise<T>;

export interface AttemptOptions {
  retries: RetryOptions;
  breaker: BreakerOptions;
  /** Timeouts by provider name (config defaults merged with the provider's own). */
  timeouts: (provider: string) => ModelTimeouts;
}

/**
 * Tries a call's model, then its fallbacks, each behind its provider endpoint's circuit breaker,
 * with the total timeout and retries (exponential backoff with full jitter, `Retry-After`
 * honoured). Errors that are the caller's own (400, 404, 422 …) and aborts are not retried.
 */
export class Attempts {
  private readonly breakerMap = new Map<string, CircuitBreaker>();
  /** Config timeouts per provider, merged once: a call without overrides allocates none. */
  private readonly timeoutsByProvider = new Map<string, ModelTimeouts>();

  constructor(private readonly options: AttemptOptions) {}

  /** The circuit breaker of each provider endpoint that has been called. */
  breakers(): ReadonlyMap<string, CircuitBreaker> {
    return this.breakerMap;
  }

  breaker(name: string): CircuitBreaker {
    let b = this.breakerMap.get(name);
    if (!b) {
      b = new CircuitBreaker(name, this.options.breaker);
      this.breakerMap.set(name, b);
    }
    return b;
  }

  private timeouts(provider: string, ctx: CallContext): ModelTimeouts {
    let t = this.timeoutsByProvider.get(provider);
    if (!t) {
      t = this.options.timeouts(provider);
      this.timeoutsByProvider.set(provider, t);
    }
    return ctx.timeouts ? { ...t, ...ctx.timeouts } : t;
  }

  /** Runs `run` on the model, then its fallbacks, with breakers, timeouts and retries. */
  async run<T>(call: Call, run: AttemptRun<T>): Promise<ModelAttempt<T>> {
    const { options } = this;
    const { ctx } = call;
    let last: AppError | undefined;
    for (const model of call.candidates) {
      const breaker = this.breaker(model.provider.name);
      for (let retry = 0; ; retry++) {
        if (!breaker.acquire()) {
          last = new AppError(
            'unavailable',
            `model ${model.id}: provider ${model.provider.name} is unavailable (circuit open)`,
            {
              retryAfter: Math.max(1, Math.ceil(breaker.retryInMs() / 1000)),
            },
          );
          call.span.attempt(model.provider.name, model.id, call.attempts, 'circuit_open');
          break;
        }
        const timeouts = this.timeouts(model.provider.name, ctx);
        const signal = new CallSignal();
        const onAbort = () => signal.abort(ctx.signal?.reason);
        ctx.signal?.addEventListener('abort', onAbort, { once: true });
        if (ctx.signal?.aborted) onAbort();
        const timer = setTimeout(() => signal.abort(new TimeoutReason('total')), timeouts.total_ms);
        const done = () => {
          clearTimeout(timer);
          ctx.signal?.removeEventListener('abort', onAbort);
        };
        call.attempts += 1;
        const t0 = performance.now();
        try {
          const pc = {
            request: { ...call.request, model: model.model },
            signal,
            requestId: ctx.requestId,
            // Outside a recorded trace, the caller's trace id still goes upstream.
            traceparent:
              call.span.traceparent() ?? traceparentOf(ctx.traceId ? { traceId: ctx.traceId } : undefined),
            tracestate: ctx.traceState,
          };
          const value = await run(model, pc, timeouts);
          call.upstreamMs += performance.now() - t0;
          breaker.success();
          return { model, value, signal, done };
        } catch (raw) {
          call.upstreamMs += performance.now() - t0;
          done();
          const err = asUpstreamError(raw, signal);
          call.span.attempt(
            model.provider.name,
            model.id,
            call.attempts,
            err.status ? String(err.status) : err.kind,
          );
          if (err.kind === 'aborted') {
            breaker.release();
            throw toAppError(err, model.id);
          }
          if (err.endpointFault) breaker.failure();
          else breaker.success();
          // The caller's own mistakes (400, 404, 422 …) are not fixed by retrying or another model.
          if (!err.retryable) throw toAppError(err, model.id);
          last = toAppError(err, model.id);
          if (retry >= options.retries.max) break;
          const wait = backoffMs(retry, options.retries, err.retryAfter);
          if (wait === undefined) break;
          const w0 = performance.now();
          await pause(wait, ctx.signal).catch((e) => {
            throw new AppError('bad_request', 'request aborted by the client', { cause: e });
          });
          call.upstreamMs += performance.now() - w0;
        }
      }
    }
    throw last ?? new AppError('unavailable', 'no model could answer');
  }
}
