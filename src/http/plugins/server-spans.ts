import { type Span, SpanStatusCode } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppError } from '../../errors.ts';
import { noteSampling } from '../../observability/spans.ts';
import {
  chosenInstrumentations,
  clientSpansEnabled,
  setNextTraceId,
  tracingEnabled,
} from '../../observability/tracing.ts';
import { traceContextOf } from './request-context.ts';

/** Probes and scrapes, called every few seconds by machines: no trace of their own. */
const untraced = (url: string) =>
  url === '/metrics' || url.startsWith('/health/live') || url.startsWith('/health/ready');

/**
 * HTTP SERVER spans through `@fastify/otel`, registered only when tracing is on (with it off, no
 * hook is added and the routes stay unwrapped). The request span continues the caller's
 * `traceparent`, or starts the trace whose id this request's logs and X-Trace-ID already carry;
 * the handler runs in its context, so PostgreSQL and Redis client spans hang under it, and the
 * work Agentry traces itself (runs, tasks) hangs under it through `request.parentSpanId`.
 * Must be registered after `registerRequestContext` and before the routes.
 */
export async function registerServerSpans(app: FastifyInstance): Promise<void> {
  if (!tracingEnabled() || !chosenInstrumentations(process.env)('fastify')) return;
  // Loaded only with tracing on (its import costs a start without tracing tens of milliseconds).
  const { FastifyOtelInstrumentation } = await import('@fastify/otel');
  const otel = new FastifyOtelInstrumentation({
    // One span per request (+ its handler), not one per hook: hooks are many and cheap.
    instrumentHooks: false,
    // It would record every thrown error, a client's 404 as much as a bug; see onError below.
    recordExceptions: false,
    // The handler's span is what runs the handler in the request's context, for the client spans
    // of its queries; without client spans it would be a second span per request saying nothing.
    instrumentHandler: clientSpansEnabled(),
    ignorePaths: (route: { url?: string }) => untraced(route.url?.split('?', 1)[0] ?? ''),
    requestHook: (span, request: FastifyRequest) => {
      setNextTraceId(undefined);
      const route = request.routeOptions.url;
      // The HTTP semantic conventions' name: `{method} {route}`.
      span.updateName(route ? `${request.method} ${route}` : request.method);
      span.setAttribute('agentry.request_id', request.id);
      // The path only: a query string may carry what does not belong in a trace.
      span.setAttribute('url.path', request.url.split('?', 1)[0]!);
      request.parentSpanId = noteSampling(span).spanContext().spanId;
    },
  });
  // Callback-style hooks run one after the other in the same tick: the trace id set here is taken
  // by the request span started in @fastify/otel's own onRequest hook, and cleared right after
  // when that hook started none (an ignored path, a traceparent to continue).
  app.addHook('onRequest', (request, _reply, done) => {
    const ctx = traceContextOf(request.raw);
    if (!ctx.parentSpanId) setNextTraceId(ctx.traceId);
    done();
  });
  await app.register(otel.plugin());
  app.addHook('onRequest', (_request, _reply, done) => {
    setNextTraceId(undefined);
    done();
  });
  // @fastify/otel marks the span ERROR for any thrown error; a client's mistake (4xx) is not the
  // server's (the HTTP conventions leave a SERVER span's status alone below 500). Instance hooks
  // run before its route-level ones: the exception is recorded for server errors only, and a
  // span it marked ERROR for an answer below 500 is set OK again before it ends.
  app.addHook('onError', (request, _reply, error, done) => {
    const status = (error as AppError).status ?? (error as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) request.opentelemetry().span?.recordException(error);
    done();
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    const span = request.opentelemetry().span as (Span & { status?: { code: number } }) | undefined;
    if (span && reply.statusCode < 500 && span.status?.code === SpanStatusCode.ERROR) {
      span.setStatus({ code: SpanStatusCode.OK });
    }
    done(null, payload);
  });
}
