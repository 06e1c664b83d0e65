import type { ModelTimeouts } from '../config/models-config.ts';
import { AppError } from '../errors.ts';
import type { CircuitBreaker } from '../resilience/breaker.ts';
import type { Admission } from './admission.ts';
import { type AttemptOptions, Attempts, type Call, type ModelAttempt } from './attempts.ts';
import type { CallSignal } from './call-signal.ts';
import type { ModelCatalog, ResolvedModel } from './catalog.ts';
import { asUpstreamError, TimeoutReason, toAppError } from './errors.ts';
import type { ModelPolicy } from './policy.ts';
import { type Embeddings, type ProviderCall, UpstreamError } from './provider.ts';
import type { MockProvider } from './providers/mock.ts';
import { badParam } from './request-support.ts';
import type { ModelTelemetry } from './telemetry.ts';
import { estimatePromptTokens, tokensForChars } from './tokens.ts';
import type {
  CallContext,
  Completion,
  CompletionChunk,
  CompletionRequest,
  ModelGateway,
  Usage,
} from './types.ts';
import type { UsageRecorder } from './usage.ts';
import { tokenDetails } from './usage-details.ts';

export interface GatewayOptions extends AttemptOptions {
  default_max_tokens: number;
}

export interface GatewayDeps {
  catalog: ModelCatalog;
  mock: MockProvider;
  policy: ModelPolicy;
  admission: Admission;
  usage: UsageRecorder;
  /** Writes buffered usage and gives back unused allotments (the factory's flush loop calls it too). */
  flush: () => Promise<void>;
  telemetry: ModelTelemetry;
  options: GatewayOptions;
}

type StreamStart = { it: AsyncIterator<CompletionChunk>; first: IteratorResult<CompletionChunk> };

/**
 * The one way to call a model. Each call: resolve the model and its fallbacks, check the tenant's
 * routing policy (403), reserve the worst case on rate limits and budgets (429), then try the model
 * and its fallbacks, each behind its endpoint's circuit breaker, with timeouts and retries (never
 * after the first streamed chunk); finally reconcile the reservation to the real usage, record the
 * usage row and end the span.
 */
export class Gateway implements ModelGateway {
  readonly catalog: ModelCatalog;
  /** The built-in mock provider, for scripting replies in tests and demos. */
  readonly mock: MockProvider;
  /** Usage rows, recorded for every call; queried by GET /v1/usage. */
  readonly usage: UsageRecorder;
  private readonly attempts: Attempts;

  constructor(private readonly deps: GatewayDeps) {
    this.catalog = deps.catalog;
    this.mock = deps.mock;
    this.usage = deps.usage;
    this.attempts = new Attempts(deps.options);
  }

  /** Writes buffered usage rows and settles budget/rate allotments with the store now. */
  flush(): Promise<void> {
    return this.deps.flush();
  }

  /** The circuit breaker of each provider endpoint that has been called. */
  breakers(): ReadonlyMap<string, CircuitBreaker> {
    return this.attempts.breakers();
  }

  /** The models a tenant may use, as known to config. */
  modelsFor(tenantName: string): string[] {
    return this.catalog.known().filter((m) => this.servable(tenantName, m));
  }

  /** True when `name` resolves to a configured provider and the tenant may use it. */
  servable(tenantName: string, name: string): boolean {
    try {
      return this.deps.policy.allowed(tenantName, this.catalog.resolve(name).id);
    } catch {
      return false;
    }
  }

  async complete(request: CompletionRequest, ctx: CallContext): Promise<Completion> {
    const call = await this.prepare(request, ctx, false);
    let attempt: ModelAttempt<Completion> | undefined;
    try {
      attempt = await this.attempts.run(call, async (model, pc) => model.provider.complete(pc));
    } catch (err) {
      this.fail(call, err);
      throw err;
    }
    attempt.done();
    const completion = { ...attempt.value, model: attempt.model.id };
    call.span.answer(completion.message);
    this.finish(
      call,
      attempt.model,
      completion.usage,
      'ok',
      completion.finish_reason,
      completion.id,
      undefined,
      attempt.value.model,
    );
    return completion;
  }

  /**
   * Text embeddings through the same path as completions: policy, budgets and rate limits (the
   * inputs count as prompt tokens, nothing as output), fallbacks, breakers, retries and usage.
   */
  async embed(
    request: {
      model: string;
      input: string[];
      tokens?: number[][];
      dimensions?: number;
      extra?: Record<string, unknown>;
    },
    ctx: CallContext,
  ): Promise<{ model: string; data: number[][]; prompt_tokens: number }> {
    const messages = request.input.map((content) => ({ role: 'user' as const, content }));
    const call = await this.prepare({ model: request.model, messages, max_tokens: 0 }, ctx, false);
    if (!call.candidates[0]!.provider.embed) {
      const err = new AppError('bad_request', `model ${call.candidates[0]!.id} does not serve embeddings`);
      this.fail(call, err);
      throw err;
    }
    // A fallback whose protocol has no embeddings is skipped, as one the tenant may not use.
    call.candidates = call.candidates.filter((m) => m.provider.embed);
    let attempt: ModelAttempt<Embeddings> | undefined;
    try {
      attempt = await this.attempts.run(call, async (model, pc) =>
        model.provider.embed!({
          model: model.model,
          input: request.input,
          ...(request.tokens && { tokens: request.tokens }),
          ...(request.dimensions !== undefined && { dimensions: request.dimensions }),
          ...(request.extra && { extra: request.extra }),
          signal: pc.signal,
          requestId: pc.requestId,
        }),
      );
    } catch (err) {
      this.fail(call, err);
      throw err;
    }
    attempt.done();
    const tokens = attempt.value.prompt_tokens;
    this.finish(
      call,
      attempt.model,
      { prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens },
      'ok',
    );
    return { model: attempt.model.id, data: attempt.value.data, prompt_tokens: tokens };
  }

  async *stream(request: CompletionRequest, ctx: CallContext): AsyncIterable<CompletionChunk> {
    const call = await this.prepare(request, ctx, true);
    let attempt: ModelAttempt<StreamStart>;
    try {
      attempt = await this.attempts.run(call, firstChunk);
    } catch (err) {
      this.fail(call, err);
      throw err;
    }
    const { model, signal } = attempt;
    const { it } = attempt.value;
    call.span.firstChunk();
    if (ctx.timing) {
      ctx.timing.model = model.id;
      ctx.timing.first_chunk_ms = performance.now() - call.started;
      ctx.timing.upstream_ms = call.upstreamMs;
      ctx.timing.gateway_ms = ctx.timing.first_chunk_ms - call.upstreamMs;
    }
    let finish: Extract<CompletionChunk, { type: 'finish' }> | undefined;
    /** The model the upstream says answered (its own name for it), for the span. */
    let upstreamModel: string | undefined;
    let streamed = 0;
    let failure: unknown;
    let next = attempt.value.first;
    try {
      while (!next.done) {
        const chunk = next.value;
        call.span.chunk(chunk);
        if (chunk.type === 'finish') {
          upstreamModel = chunk.model;
          finish = { ...chunk, model: model.id };
          yield finish;
        } else {
          streamed +=
            chunk.type === 'text'
              ? chunk.delta.length
              : chunk.type === 'tool_call'
                ? chunk.arguments_delta.length
                : (chunk.thinking?.length ?? 0);
          yield chunk;
        }
        const waitStarted = performance.now();
        next = await it.next();
        call.upstreamMs += performance.now() - waitStarted;
      }
      if (!finish) throw new UpstreamError('network', 'the upstream stream ended without a finish');
    } catch (raw) {
      // Past the first chunk nothing is retried: the caller already has part of the answer.
      const err = asUpstreamError(raw, signal);
      if (err.endpointFault) this.attempts.breaker(model.provider.name).failure();
      failure =
        err.kind === 'timeout'
          ? new AppError('gateway_timeout', `model ${model.id}: ${err.message} mid-stream`, { cause: err })
          : err.kind === 'aborted'
            ? toAppError(err, model.id)
            : new AppError(
                'bad_gateway',
                `model ${model.id}: the stream broke after it started: ${err.message}`,
                {
                  cause: err,
                },
              );
      throw failure;
    } finally {
      if (!finish) {
        // The caller stopped reading (disconnect, cancel) or the stream broke: stop the upstream too.
        signal.abort(new Error('stream abandoned'));
        // Closing an upstream stream the caller abandoned: its error has no one to go to.
        it.return?.().catch(() => {});
      }
      attempt.done();
      const completion = tokensForChars(streamed);
      const usage: Usage = finish?.usage ?? {
        prompt_tokens: call.promptTokens,
        completion_tokens: completion,
        total_tokens: call.promptTokens + completion,
      };
      const outcome = finish
        ? 'ok'
        : failure instanceof AppError && failure.code !== 'bad_request'
          ? `error:${failure.code}`
          : 'aborted';
      this.finish(call, model, usage, outcome, finish?.finish_reason, undefined, failure, upstreamModel);
    }
  }

  private async prepare(request: CompletionRequest, ctx: CallContext, streaming: boolean): Promise<Call> {
    const started = performance.now();
    const { policy, catalog, admission, telemetry, options } = this.deps;
    const candidates = catalog.candidates(request.model);
    const primary = candidates[0]!;
    const span = telemetry.start({
      providerType: primary.provider.type,
      requestModel: primary.id,
      maxTokens: request.max_tokens,
      streaming,
      requestId: ctx.requestId,
      tenantName: ctx.tenantName,
      agentName: ctx.agentName,
      traceId: ctx.traceId,
      parentSpanId: ctx.parentSpanId,
      messages: request.messages,
    });
    const call: Call = {
      request,
      ctx,
      candidates,
      promptTokens: 0,
      ticket: { settle() {} },
      span,
      started,
      upstreamMs: 0,
      attempts: 0,
    };
    try {
      policy.check(ctx.tenantName, primary.id);
      // A field the model cannot honour is refused, never dropped; a fallback that cannot honour it
      // is skipped, as one the tenant may not use.
      const refused = primary.provider.unsupported?.(request);
      if (refused) throw badParam(refused.param, `model ${primary.id}: ${refused.reason}`);
      // Fallbacks the tenant may not use are skipped silently: the primary's rule already answered.
      call.candidates = candidates.filter(
        (m, i) => i === 0 || (policy.allowed(ctx.tenantName, m.id) && !m.provider.unsupported?.(request)),
      );
      call.promptTokens = estimatePromptTokens(request.messages, request.tools);
      // Sized from the request, or from the model's typical output; a call that named no limit is
      // sent with the reserved one, so it cannot use more than it reserved (budgets never overspend).
      const maxTokens = request.max_tokens ?? primary.outputTokens ?? options.default_max_tokens;
      if (request.max_tokens === undefined && maxTokens > 0)
        call.request = { ...request, max_tokens: maxTokens };
      const worstCost = Math.max(
        ...call.candidates.map((m) =>
          catalog.cost(m, { prompt_tokens: call.promptTokens, completion_tokens: maxTokens }),
        ),
      );
      call.ticket = await admission.admit({
        ctx,
        model: primary,
        promptTokens: call.promptTokens,
        worstTokens: call.promptTokens + maxTokens,
        worstCost,
      });
    } catch (err) {
      this.fail(call, err);
      throw err;
    }
    return call;
  }

  private finish(
    call: Call,
    model: ResolvedModel,
    usage: Usage,
    outcome: string,
    finishReason?: Completion['finish_reason'],
    responseId?: string,
    error?: unknown,
    /** The model named in the provider's answer (`gen_ai.response.model`), when it named one. */
    upstreamModel?: string,
  ): void {
    const cost = this.catalog.cost(model, usage);
    const details = tokenDetails(usage);
    call.ticket.settle({ tokens: usage.prompt_tokens + usage.completion_tokens, cost });
    const elapsed = performance.now() - call.started;
    const { ctx } = call;
    if (ctx.timing) {
      ctx.timing.upstream_ms = call.upstreamMs;
      ctx.timing.gateway_ms ??= elapsed - call.upstreamMs;
      ctx.timing.model = model.id;
      ctx.timing.attempts = call.attempts;
      ctx.timing.cost = cost;
    }
    this.deps.usage.record({
      tenantId: ctx.tenantId,
      agent: ctx.agentName,
      keyId: ctx.keyId,
      requestedModel: call.request.model,
      model: model.id,
      inputTokens: usage.prompt_tokens,
      outputTokens: usage.completion_tokens,
      cachedInputTokens: details.cachedInput,
      cacheWriteTokens: details.cacheWrite,
      reasoningTokens: details.reasoning,
      cost,
      latencyMs: elapsed,
      requestId: ctx.requestId,
      outcome,
      at: new Date(),
    });
    call.span.end({
      // What the provider says answered (an alias resolved upstream, a dated snapshot), not what was
      // asked for; the resolved model id when the answer names none.
      responseModel: upstreamModel || model.id,
      responseId,
      finishReason,
      usage,
      cost,
      errorType: error instanceof AppError ? error.code : error ? 'error' : undefined,
    });
  }

  /** A call that got no answer: release its reservation, record it, end its span. */
  private fail(call: Call, err: unknown): void {
    const code = err instanceof AppError ? err.code : 'internal';
    const outcome =
      code === 'bad_request' && /aborted/.test((err as Error).message) ? 'aborted' : `error:${code}`;
    const model = call.candidates[0]!;
    call.ticket.settle({ tokens: 0, cost: 0 });
    this.deps.usage.record({
      tenantId: call.ctx.tenantId,
      agent: call.ctx.agentName,
      keyId: call.ctx.keyId,
      requestedModel: call.request.model,
      model: model.id,
      inputTokens: 0,
      outputTokens: 0,
      cost: 0,
      latencyMs: performance.now() - call.started,
      requestId: call.ctx.requestId,
      outcome,
      at: new Date(),
    });
    if (call.ctx.timing) call.ctx.timing.attempts = call.attempts;
    call.span.end({ errorType: code });
  }
}

/**
 * Starts the provider's stream and waits for its first chunk, within the first-byte timeout. A
 * promise chain, not an async function: a streamed call waits here for most of its life, and a
 * suspended async frame (its registers, context and promises) is heap that every run in flight pays.
 */
function firstChunk(
  model: ResolvedModel,
  pc: ProviderCall & { signal: CallSignal },
  timeouts: ModelTimeouts,
): Promise<StreamStart> {
  const it = model.provider.stream(pc)[Symbol.asyncIterator]();
  const timer = setTimeout(() => pc.signal.abort(new TimeoutReason('first_byte')), timeouts.first_byte_ms);
  return it.next().then(
    (first) => {
      clearTimeout(timer);
      if (first.done) throw new UpstreamError('network', 'the upstream closed the stream without answering');
      return { it, first };
    },
    (err: unknown) => {
      clearTimeout(timer);
      throw err;
    },
  );
}
