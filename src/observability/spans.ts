import {
  type Attributes,
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { tracingEnabled, withTraceId } from './tracing.ts';

export type { Span };
export { SpanKind };

/**
 * Spans with explicit parents. Agentry passes the trace it works in from the front door down as
 * plain ids (request → run → model and tool calls; task row → worker), so a span's parent does not
 * depend on the async context surviving every hop (a queue, another process, a resumed run).
 */
export interface SpanParent {
  traceId: string;
  /** The span new spans hang under; absent: a new root span in this trace. */
  spanId?: string;
  /** The caller's W3C `tracestate`, passed on unchanged with every `traceparent` sent for it. */
  traceState?: string;
}

const tracer = () => trace.getTracer('agentry');

/**
 * Ids of spans in this process that are not sampled: under a caller's `traceparent` with flags 00,
 * or dropped by a ratio sampler. Parents travel as plain ids (SpanParent), which carry no sampled
 * flag; a span started under one of these ids is started unsampled too, and a `traceparent` sent
 * for it says so (flags 00), so that no part of a trace its caller chose not to record is exported.
 * Bounded: the oldest ids are forgotten first (a span under a forgotten id is sampled as a root).
 */
const unsampled = new Set<string>();
const UNSAMPLED_KEPT = 50_000;

/** Records that the span `spanId` is not sampled (its children are not either). */
export function markUnsampled(spanId: string | undefined): void {
  if (!spanId || unsampled.has(spanId)) return;
  unsampled.add(spanId);
  if (unsampled.size > UNSAMPLED_KEPT) unsampled.delete(unsampled.values().next().value as string);
}

/** The W3C trace flags of children of `spanId`: 01 (sampled) unless it was marked unsampled. */
export const traceFlagsUnder = (spanId: string | undefined): number =>
  spanId && unsampled.has(spanId) ? 0 : 1;

/** Marks `span` unsampled when the sampler dropped it; returns it. */
export function noteSampling<S extends Span>(span: S): S {
  const sc = span.spanContext();
  if (isSpanContextValid(sc) && (sc.traceFlags & 1) === 0) markUnsampled(sc.spanId);
  return span;
}

export function startSpan(
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  parent?: SpanParent,
  startTime?: number,
): Span {
  if (parent?.spanId) {
    const ctx = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: parent.traceId,
      spanId: parent.spanId,
      traceFlags: traceFlagsUnder(parent.spanId),
      isRemote: true,
    });
    return noteSampling(tracer().startSpan(name, { kind, attributes, startTime }, ctx));
  }
  const start = () => tracer().startSpan(name, { kind, attributes, startTime }, ROOT_CONTEXT);
  return noteSampling(parent ? withTraceId(parent.traceId, start) : start());
}

/** Where a span's children hang: the span itself when it is recorded, else the given parent. */
export function childParent(span: Span, fallback?: SpanParent): SpanParent | undefined {
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return fallback;
  return {
    traceId: sc.traceId,
    spanId: sc.spanId,
    ...(fallback?.traceState && { traceState: fallback.traceState }),
  };
}

const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The parent a stored `traceparent` names (one this process or another wrote), if it is valid; a
 * parent that was not sampled (flags 00) is remembered as such, so its children are not either.
 */
export function parentFromTraceparent(header: string | null | undefined): SpanParent | undefined {
  const m = header ? traceparentPattern.exec(header) : null;
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  if ((Number.parseInt(m[3]!, 16) & 1) === 0) markUnsampled(m[2]);
  return { traceId: m[1]!, spanId: m[2]! };
}

/** A W3C `traceparent` naming `p` as the parent, for an upstream; a fresh span id when `p` has none. */
export function traceparentOf(p: SpanParent | undefined): string | undefined {
  if (!p) return undefined;
  return `00-${p.traceId}-${p.spanId ?? randomSpanId()}-0${traceFlagsUnder(p.spanId)}`;
}

/** The W3C Trace Context headers an upstream called under `p` receives. */
export interface TraceHeaders {
  traceparent: string;
  tracestate?: string;
}

/** `traceparent` naming `p` (see traceparentOf), and `tracestate` when the caller sent one. */
export function traceHeadersOf(p: SpanParent | undefined): TraceHeaders | undefined {
  const traceparent = traceparentOf(p);
  if (!traceparent) return undefined;
  return p?.traceState ? { traceparent, tracestate: p.traceState } : { traceparent };
}

/**
 * Runs `fn` with `span` as the active span, so that the official instrumentations (PostgreSQL,
 * Redis) hang the spans of its queries under it. Without tracing there is no context manager
 * and this is a plain call.
 */
export function inSpanContext<T>(span: Span, fn: () => T): T {
  return tracingEnabled() ? context.with(trace.setSpan(context.active(), span), fn) : fn();
}

function randomSpanId(): string {
  let id = '';
  while (id.length < 16)
    id += Math.floor(Math.random() * 0x100000000)
      .toString(16)
      .padStart(8, '0');
  return /^0+$/.test(id) ? '0000000000000001' : id.slice(0, 16);
}

/** Ends a span, as an error when `error` is given (`error.type` and the status message). */
export function endSpan(span: Span, error?: { type: string; message?: string }): void {
  if (error) {
    span.setAttribute('error.type', error.type);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message ?? error.type });
  }
  span.end();
}
