import {
  type Attributes,
  context,
  type Histogram,
  isSpanContextValid,
  metrics,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { AgentMetrics } from '../observability/agent-metrics.ts';
import { noteSampling, traceFlagsUnder } from '../observability/spans.ts';
import type { ChatMessage, CompletionChunk, FinishReason, Usage } from './types.ts';
import { tokenDetails } from './usage-details.ts';

/*
 * OpenTelemetry GenAI semantic conventions (still "development" upstream, so the names are written
 * out here rather than imported from the incubating entry point, as the OTel docs advise).
 */
const OPERATION = 'gen_ai.operation.name';
const PROVIDER = 'gen_ai.provider.name';
const REQUEST_MODEL = 'gen_ai.request.model';
const RESPONSE_MODEL = 'gen_ai.response.model';
const RESPONSE_ID = 'gen_ai.response.id';
const MAX_TOKENS = 'gen_ai.request.max_tokens';
const FINISH_REASONS = 'gen_ai.response.finish_reasons';
const INPUT_TOKENS = 'gen_ai.usage.input_tokens';
const OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
/** Of the input tokens: read from and written to the provider's cache (semconv 1.37+). */
const CACHE_READ_TOKENS = 'gen_ai.usage.cache_read.input_tokens';
const CACHE_WRITE_TOKENS = 'gen_ai.usage.cache_creation.input_tokens';
/** Of the output tokens: spent reasoning (no semconv name yet; this one follows the cache ones). */
const REASONING_TOKENS = 'gen_ai.usage.reasoning.output_tokens';
const TOKEN_TYPE = 'gen_ai.token.type';
const ERROR_TYPE = 'error.type';

export interface CallSpanStart {
  providerType: string;
  requestModel: string;
  maxTokens?: number;
  streaming: boolean;
  requestId?: string;
  tenantName: string;
  agentName?: string;
  /** Continue the caller's W3C trace when the request carried one. */
  traceId?: string;
  parentSpanId?: string;
  /** The request's messages, recorded only when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true. */
  messages?: unknown;
}

export interface CallSpanEnd {
  responseModel?: string;
  responseId?: string;
  finishReason?: FinishReason;
  usage?: Usage;
  errorType?: string;
  /** The call's price by the catalog, in USD. */
  cost?: number;
}

/**
 * Spans and metrics for model calls through the global OpenTelemetry API: with no SDK registered they
 * cost next to nothing; tests register an in-memory exporter, deployments an OTLP one.
 */
export class ModelTelemetry {
  private readonly tracer: Tracer = trace.getTracer('agentry.models');
  private readonly duration: Histogram;
  private readonly tokens: Histogram;
  private readonly firstChunk: Histogram;
  /** Message content is personal data: on spans only when the operator asks for it. */
  readonly capturesContent = process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT === 'true';

  constructor(private readonly prom?: AgentMetrics) {
    const meter = metrics.getMeter('agentry.models');
    this.duration = meter.createHistogram('gen_ai.client.operation.duration', {
      unit: 's',
      description: 'GenAI operation duration',
    });
    this.tokens = meter.createHistogram('gen_ai.client.token.usage', {
      unit: '{token}',
      description: 'Tokens used per call, by gen_ai.token.type',
    });
    this.firstChunk = meter.createHistogram('gen_ai.client.operation.time_to_first_chunk', {
      unit: 's',
      description: 'Time from the call until the first streamed chunk',
    });
  }

  start(call: CallSpanStart): CallSpan {
    const attributes: Attributes = {
      [OPERATION]: 'chat',
      [PROVIDER]: call.providerType,
      [REQUEST_MODEL]: call.requestModel,
      'agentry.tenant': call.tenantName,
      'agentry.streaming': call.streaming,
    };
    if (call.maxTokens !== undefined) attributes[MAX_TOKENS] = call.maxTokens;
    if (call.requestId) attributes['agentry.request_id'] = call.requestId;
    if (call.agentName) attributes['agentry.agent'] = call.agentName;
    if (this.capturesContent && call.messages !== undefined) {
      attributes['gen_ai.input.messages'] = JSON.stringify(call.messages);
    }
    let parent = context.active();
    if (call.traceId && call.parentSpanId) {
      parent = trace.setSpanContext(parent, {
        traceId: call.traceId,
        spanId: call.parentSpanId,
        traceFlags: traceFlagsUnder(call.parentSpanId),
        isRemote: true,
      });
    }
    const span = noteSampling(
      this.tracer.startSpan(`chat ${call.requestModel}`, { kind: SpanKind.CLIENT, attributes }, parent),
    );
    return new CallSpan(span, performance.now(), this, {
      [OPERATION]: 'chat',
      [PROVIDER]: call.providerType,
      [REQUEST_MODEL]: call.requestModel,
    });
  }

  /** @internal */
  record(base: Attributes, seconds: number, end: CallSpanEnd, firstChunkSeconds?: number): void {
    this.prom?.modelCall(
      {
        provider: String(base[PROVIDER]),
        model: String(base[REQUEST_MODEL]),
        outcome: end.errorType ? 'error' : 'ok',
        seconds,
      },
      end.usage && {
        input: end.usage.prompt_tokens,
        output: end.usage.completion_tokens,
        cost: end.cost ?? 0,
      },
    );
    const attrs: Attributes = { ...base };
    if (end.responseModel) attrs[RESPONSE_MODEL] = end.responseModel;
    if (end.errorType) attrs[ERROR_TYPE] = end.errorType;
    this.duration.record(seconds, attrs);
    if (firstChunkSeconds !== undefined) this.firstChunk.record(firstChunkSeconds, attrs);
    if (end.usage) {
      this.tokens.record(end.usage.prompt_tokens, { ...attrs, [TOKEN_TYPE]: 'input' });
      this.tokens.record(end.usage.completion_tokens, { ...attrs, [TOKEN_TYPE]: 'output' });
    }
  }
}

export class CallSpan {
  private firstChunkAt?: number;
  /** The answer, kept only while message content is captured (gen_ai.output.messages). */
  private output?: { content: string; tool_calls: { id?: string; name: string; arguments: string }[] };

  constructor(
    private readonly span: Span,
    private readonly started: number,
    private readonly telemetry: ModelTelemetry,
    private readonly base: Attributes,
  ) {}

  /** This call's span as a W3C `traceparent` for the provider (undefined outside any trace). */
  traceparent(): string | undefined {
    const sc = this.span.spanContext();
    return isSpanContextValid(sc) ? `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}` : undefined;
  }

  firstChunk(): void {
    if (this.firstChunkAt !== undefined) return;
    this.firstChunkAt = performance.now();
    const seconds = (this.firstChunkAt - this.started) / 1000;
    this.span.setAttribute('gen_ai.response.time_to_first_chunk', seconds);
    this.span.addEvent('gen_ai.first_chunk');
  }

  /** The whole answer of a call that did not stream; recorded only when content is captured. */
  answer(message: ChatMessage): void {
    if (!this.telemetry.capturesContent) return;
    this.output = {
      content: message.content ?? '',
      tool_calls: (message.tool_calls ?? []).map((c) => ({ id: c.id, ...c.function })),
    };
  }

  /** A streamed piece of the answer; gathered only when content is captured. */
  chunk(c: CompletionChunk): void {
    if (!this.telemetry.capturesContent || c.type === 'finish' || c.type === 'thinking') return;
    this.output ??= { content: '', tool_calls: [] };
    if (c.type === 'text') {
      this.output.content += c.delta;
      return;
    }
    this.output.tool_calls[c.index] ??= { name: '', arguments: '' };
    const call = this.output.tool_calls[c.index]!;
    if (c.id) call.id = c.id;
    if (c.name) call.name += c.name;
    call.arguments += c.arguments_delta;
  }

  attempt(provider: string, model: string, attempt: number, error?: string): void {
    this.span.addEvent('agentry.attempt', { provider, model, attempt, ...(error && { error }) });
  }

  end(end: CallSpanEnd): void {
    if (end.responseModel) this.span.setAttribute(RESPONSE_MODEL, end.responseModel);
    if (end.responseId) this.span.setAttribute(RESPONSE_ID, end.responseId);
    if (end.finishReason) this.span.setAttribute(FINISH_REASONS, [end.finishReason]);
    if (end.usage) {
      this.span.setAttribute(INPUT_TOKENS, end.usage.prompt_tokens);
      this.span.setAttribute(OUTPUT_TOKENS, end.usage.completion_tokens);
      // Set only when the provider reported them, so a span says nothing it was not told.
      const d = tokenDetails(end.usage);
      if (d.cachedInput > 0) this.span.setAttribute(CACHE_READ_TOKENS, d.cachedInput);
      if (d.cacheWrite > 0) this.span.setAttribute(CACHE_WRITE_TOKENS, d.cacheWrite);
      if (d.reasoning > 0) this.span.setAttribute(REASONING_TOKENS, d.reasoning);
    }
    if (end.errorType) {
      this.span.setAttribute(ERROR_TYPE, end.errorType);
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: end.errorType });
    }
    if (this.output) {
      const { content, tool_calls } = this.output;
      const message = {
        role: 'assistant',
        content,
        ...(tool_calls.length > 0 && { tool_calls: tool_calls.filter(Boolean) }),
        ...(end.finishReason && { finish_reason: end.finishReason }),
      };
      this.span.setAttribute('gen_ai.output.messages', JSON.stringify([message]));
    }
    this.span.end();
    const seconds = (performance.now() - this.started) / 1000;
    const ttfc = this.firstChunkAt === undefined ? undefined : (this.firstChunkAt - this.started) / 1000;
    this.telemetry.record(this.base, seconds, end, ttfc);
  }
}
