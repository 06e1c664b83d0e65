import { estimateTokens } from '../models/tokens.ts';
import { headerValue, OutboundError, type OutboundNetwork, outboundRequest } from '../net/outbound.ts';
import { type TraceHeaders, traceHeadersOf } from '../observability/spans.ts';
import { type BreakerOptions, CircuitBreaker } from '../resilience/breaker.ts';
import { AttemptFailure, guardedCall } from '../resilience/guarded-call.ts';
import { parseRetryAfter, type RetryOptions } from '../resilience/retry.ts';
import { boundDepth } from '../text/bound-depth.ts';
import { RunWriter } from './runs/end.ts';
import { runIdempotencyKey } from './runs/rows.ts';
import type { Executor } from './runtime.ts';
import type { ExecuteDeps, RunResult, RunSpec } from './types.ts';

/**
 * Agents with `env: remote` run in their own runtime: `POST {runtime_url}/run` with
 * `{task, parameters}` and `X-Request-Id`. Each attempt has a timeout; network errors, timeouts,
 * 429 and 5xx are retried with exponential backoff and full jitter (Retry-After honoured); every
 * endpoint sits behind its own circuit breaker. Errors map to 502 (unreachable, bad answer), 503
 * (breaker open) and 504 (timed out). The answer's text is `output`, `text` or `result` of its JSON
 * body (or the body itself when it is plain text). The request goes through the guarded outbound
 * client (net/outbound.ts): no private address unless the tenant's policy allows it, redirects
 * re-checked, the answer capped at `max_bytes`.
 */
export interface RemoteOptions {
  timeout_ms: number;
  max_bytes: number;
  retries: RetryOptions;
  breaker: BreakerOptions;
}

const defaultRemoteOptions: RemoteOptions = {
  timeout_ms: 30_000,
  max_bytes: 2 * 1024 * 1024,
  retries: { max: 2, base_ms: 200, max_ms: 5_000 },
  breaker: { failure_threshold: 5, reset_ms: 30_000 },
};

interface CallOptions {
  requestId: string;
  /** Sent as `Idempotency-Key`: the same on every attempt of a task, so the runtime can de-duplicate. */
  idempotencyKey?: string;
  signal: AbortSignal;
  /** The tenant policy's `network.allow_private_egress`. */
  allowPrivate: boolean;
  /** W3C trace context for the remote runtime (the run's span, the caller's tracestate). */
  trace?: TraceHeaders;
}

export class RemoteRuntimes {
  private readonly breakers = new Map<string, CircuitBreaker>();

  constructor(
    private readonly options: RemoteOptions = defaultRemoteOptions,
    /** DNS and routing of the guarded client (tests only). */
    private readonly network?: OutboundNetwork,
  ) {}

  /** Runs `task` on the runtime at `url`; the answer's text, or an AppError (502/503/504). */
  async run(
    url: string,
    body: { task: string; parameters: Record<string, unknown> },
    call: CallOptions,
  ): Promise<string> {
    const endpoint = `${url.replace(/\/+$/, '')}/run`;
    return guardedCall(
      `remote runtime ${endpoint}`,
      this.breakerFor(endpoint),
      this.options.retries,
      call.signal,
      () => this.once(endpoint, body, call),
    );
  }

  private async once(
    endpoint: string,
    body: { task: string; parameters: Record<string, unknown> },
    call: CallOptions,
  ): Promise<string> {
    let res: Awaited<ReturnType<typeof outboundRequest>>;
    try {
      res = await outboundRequest(
        endpoint,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-request-id': call.requestId,
            ...(call.idempotencyKey && { 'idempotency-key': call.idempotencyKey }),
            ...call.trace,
          },
          body: JSON.stringify(body),
        },
        {
          allowPrivate: call.allowPrivate,
          timeoutMs: this.options.timeout_ms,
          maxBytes: this.options.max_bytes,
          maxRedirects: 3,
          signal: call.signal,
          network: this.network,
        },
      );
    } catch (err) {
      if (!(err instanceof OutboundError)) throw err;
      if (err.kind === 'timeout') throw new AttemptFailure(err.message, true, 'timeout');
      // A refused address or an oversized answer stays so on a retry.
      throw new AttemptFailure(err.message, err.kind === 'network');
    }
    const text = res.body.toString('utf8');
    if (res.status < 200 || res.status >= 300) {
      const retryable = res.status === 429 || res.status >= 500;
      throw new AttemptFailure(
        `answered ${res.status}: ${text.slice(0, 300)}`,
        retryable,
        'other',
        parseRetryAfter(headerValue(res, 'retry-after') ?? null),
      );
    }
    if (!headerValue(res, 'content-type')?.includes('json')) return text;
    try {
      const json = JSON.parse(text) as Record<string, unknown>;
      const out = json.output ?? json.text ?? json.result;
      if (typeof out === 'string') return out;
      // Cut: an answer nested thousands deep would overflow JSON.stringify and fail the run.
      return JSON.stringify(boundDepth(out ?? json));
    } catch {
      throw new AttemptFailure('answered invalid JSON', false);
    }
  }

  private breakerFor(endpoint: string): CircuitBreaker {
    let b = this.breakers.get(endpoint);
    if (!b) {
      b = new CircuitBreaker(`remote:${endpoint}`, this.options.breaker);
      this.breakers.set(endpoint, b);
    }
    return b;
  }
}

/** Runs a remote agent's turn as a run: the message is the task, the request's context the parameters. */
export function remoteExecutor(
  remotes: RemoteRuntimes,
  allowPrivate: (tenantId: string) => Promise<boolean>,
): Executor {
  return async (deps: ExecuteDeps, run: RunSpec): Promise<RunResult> => {
    const out = new RunWriter(deps, run);
    try {
      const history = run.history ?? (await deps.store.history(run.sessionId));
      const task = [...history].reverse().find((m) => m.role === 'user')?.content ?? '';
      const text = await remotes.run(
        run.agent.runtime_url ?? '',
        { task, parameters: run.context },
        {
          requestId: run.call.requestId ?? run.runId,
          idempotencyKey: runIdempotencyKey(run.runId, run.options),
          signal: run.signal,
          allowPrivate: await allowPrivate(run.tenantId),
          trace: traceHeadersOf(
            run.call.traceId
              ? { traceId: run.call.traceId, spanId: run.call.parentSpanId, traceState: run.call.traceState }
              : undefined,
          ),
        },
      );
      run.writer.emit('text', { delta: text });
      return await out.complete({
        text,
        model: `remote:${run.agent.runtime_url}`,
        messages: [{ role: 'assistant', content: text, tokens: estimateTokens(text) }],
      });
    } catch (err) {
      return out.fail(err);
    }
  };
}
