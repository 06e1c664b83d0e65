import { propagation, trace } from '@opentelemetry/api';
import type { IdGenerator, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Logger } from './logger.ts';

/**
 * The OpenTelemetry SDK, registered once per process when the standard variables ask for it:
 * `OTEL_TRACES_EXPORTER` (`otlp`, `console`, `none`), `OTEL_EXPORTER_OTLP_ENDPOINT` /
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, the spec's
 * default, or `http/json`), `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`
 * (+ `_ARG`), `OTEL_BSP_*`; the exporters and the provider read them themselves. With none of them
 * set nothing is registered: the API's no-op tracer answers, and a span costs next to nothing.
 * The SDK and its exporters (~260 modules, a quarter of what a server loads) are imported only
 * when tracing is on.
 */

export interface Tracing {
  readonly enabled: boolean;
  /** Sends what is buffered (on app close; the process may end right after). */
  flush(): Promise<void>;
}

/**
 * Ids of new root spans: the request's own trace id (from X-Trace-ID, or made for its logs) when one
 * is set for the next span, so that a request's logs, headers and exported spans agree.
 */
class RequestIdGenerator implements IdGenerator {
  constructor(private readonly random: IdGenerator) {}
  next?: string;
  generateTraceId(): string {
    const id = this.next;
    this.next = undefined;
    return id ?? this.random.generateTraceId();
  }
  generateSpanId(): string {
    return this.random.generateSpanId();
  }
}

let registered: { tracing: Tracing; ids: RequestIdGenerator; clients: boolean } | undefined;

/** True when client spans are made: an active context is kept (AsyncLocalStorage) for them. */
export const clientSpansEnabled = (): boolean => registered?.clients === true;

/** True when spans are recorded and exported (the SDK is registered in this process). */
export const tracingEnabled = (): boolean => registered?.tracing.enabled === true;

/** Runs `start` (which must start one root span synchronously) with `traceId` as that span's trace id. */
export function withTraceId<T>(traceId: string, start: () => T): T {
  if (!registered) return start();
  registered.ids.next = traceId;
  try {
    return start();
  } finally {
    registered.ids.next = undefined;
  }
}

/**
 * The trace id for the next root span started synchronously by code this module does not call
 * (the HTTP server instrumentation's request span); `undefined` clears it. The caller sets and
 * clears it around that code in one synchronous stretch, so no other span can take it.
 */
export function setNextTraceId(traceId: string | undefined): void {
  if (registered) registered.ids.next = traceId;
}

const off: Tracing = { enabled: false, flush: async () => {} };

/** The registration under way or done (once per process, whichever app asks first). */
let registering: Promise<Tracing> | undefined;

/** The clients this process talks to, whose client spans the official instrumentations make. */
export interface TracedClients {
  /** The store is PostgreSQL (PGlite runs in the process: nothing to trace on the wire). */
  postgres: boolean;
  redis: boolean;
}

export function startTracing(
  env: NodeJS.ProcessEnv = process.env,
  log?: Logger,
  clients: TracedClients = { postgres: false, redis: false },
): Promise<Tracing> {
  if (registering) return registering;
  const exporter = exporterFrom(env, log);
  if (!exporter) return Promise.resolve(off);
  registering = register(exporter, clientInstrumentations(env, clients), log);
  return registering;
}

/**
 * `pg` and `ioredis` for the clients in use, less those `OTEL_NODE_DISABLED_INSTRUMENTATIONS`
 * names, or only those `OTEL_NODE_ENABLED_INSTRUMENTATIONS` names (the variables of the
 * OpenTelemetry Node auto-instrumentations; `fastify` names the HTTP server spans).
 */
export function chosenInstrumentations(env: NodeJS.ProcessEnv): (name: string) => boolean {
  const list = (v: string | undefined) =>
    v === undefined
      ? undefined
      : new Set(
          v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        );
  const enabled = list(env.OTEL_NODE_ENABLED_INSTRUMENTATIONS);
  const disabled = list(env.OTEL_NODE_DISABLED_INSTRUMENTATIONS);
  return (name) => (enabled ? enabled.has(name) : true) && !disabled?.has(name);
}

function clientInstrumentations(env: NodeJS.ProcessEnv, clients: TracedClients): ('pg' | 'ioredis')[] {
  const chosen = chosenInstrumentations(env);
  const names: ('pg' | 'ioredis')[] = [];
  if (clients.postgres && chosen('pg')) names.push('pg');
  if (clients.redis && chosen('ioredis')) names.push('ioredis');
  return names;
}

async function register(
  makeExporter: () => Promise<SpanExporter>,
  clients: ('pg' | 'ioredis')[],
  log?: Logger,
): Promise<Tracing> {
  const [{ W3CTraceContextPropagator }, resources, sdk, exporter] = await Promise.all([
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
    makeExporter(),
  ]);
  const { defaultResource, envDetector, resourceFromAttributes } = resources;
  const { BasicTracerProvider, BatchSpanProcessor, RandomIdGenerator } = sdk;
  const ids = new RequestIdGenerator(new RandomIdGenerator());
  const provider = new BasicTracerProvider({
    resource: defaultResource()
      .merge(resourceFromAttributes({ 'service.name': 'agentry' }))
      .merge(resourceFromAttributes(envDetector.detect().attributes ?? {})),
    idGenerator: ids,
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  // Agentry's own spans take explicit parents (spans.ts); the client instrumentations (PostgreSQL,
  // Redis) find theirs in the active context, kept by AsyncLocalStorage. Loaded only here:
  // importing them costs a start without tracing a few hundred milliseconds.
  if (clients.length > 0) {
    const { registerClientInstrumentations } = await import('./instrumentations.ts');
    registerClientInstrumentations(provider, clients);
  }
  const tracing: Tracing = { enabled: true, flush: () => provider.forceFlush() };
  registered = { tracing, ids, clients: clients.length > 0 };
  log?.info({ exporter: exporter.constructor.name, client_spans: clients }, 'OpenTelemetry tracing on');
  return tracing;
}

/** How spans are to be exported (made when called, its module loaded then), or undefined for none. */
function exporterFrom(env: NodeJS.ProcessEnv, log?: Logger): (() => Promise<SpanExporter>) | undefined {
  if (env.OTEL_SDK_DISABLED === 'true') return undefined;
  const kinds = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (kinds.length === 0 && !endpoint) return undefined;
  const kind = kinds[0] ?? 'otlp';
  if (kind === 'none') return undefined;
  if (kind === 'console')
    return async () => new (await import('@opentelemetry/sdk-trace-base')).ConsoleSpanExporter();
  if (kind !== 'otlp') {
    log?.warn({ exporter: kind }, 'OTEL_TRACES_EXPORTER names an exporter Agentry does not ship; using otlp');
  }
  const protocol =
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  if (protocol === 'http/json')
    return async () => new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
  if (protocol !== 'http/protobuf') {
    log?.warn({ protocol }, 'OTLP protocol not shipped (grpc); exporting with http/protobuf instead');
  }
  return async () => new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
}
