import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { markUnsampled } from '../../observability/spans.ts';

/** What a caller may send as X-Request-Id: short, printable, no spaces (it lands in logs and rows). */
const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/** Uses the caller's X-Request-Id when it is well-formed, otherwise makes one. */
export function genRequestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
}

export interface TraceContext {
  /** 32 lowercase hex digits: from a valid `traceparent`, else fresh. */
  traceId: string;
  /** The caller's span, when it sent a valid `traceparent`. */
  parentSpanId?: string;
  /** W3C trace flags (bit 0: sampled); `01` for a trace started here. */
  flags: string;
  /** The caller's `tracestate`, kept with its `traceparent` (meaningless without one). */
  traceState?: string;
}

/**
 * W3C Trace Context, level 1: `version-traceid-parentid-flags`, lowercase hex. Version `ff` is
 * invalid; an all-zero trace or parent id is invalid; a version above 00 may carry more fields
 * after a dash, which we ignore (the spec asks receivers to parse what they know).
 */
const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

export function parseTraceparent(header: string | string[] | undefined): TraceContext | undefined {
  // Several traceparent headers make the context ambiguous: the spec says to start a new trace.
  if (typeof header !== 'string') return undefined;
  const m = traceparentPattern.exec(header.trim());
  if (!m) return undefined;
  const [, version, traceId, parentSpanId, flags, rest] = m as unknown as string[];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId!) || /^0+$/.test(parentSpanId!)) return undefined;
  return { traceId: traceId!, parentSpanId, flags: flags! };
}

const traceIdPattern = /^[0-9a-f]{32}$/;
function givenTraceId(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const id = header.trim().toLowerCase();
  return traceIdPattern.test(id) && !/^0+$/.test(id) ? id : undefined;
}

/**
 * A `tracestate` worth passing on: list-members of `key=value`, at most 32 of them and 512
 * characters in all (the W3C limits); several headers are joined as the spec says. Anything else
 * is dropped, not repaired.
 */
const traceStateMember =
  /^[a-z0-9][_0-9a-z\-*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
export function traceStateOf(header: string | string[] | undefined): string | undefined {
  const joined = Array.isArray(header) ? header.join(',') : header;
  if (!joined) return undefined;
  const members = joined
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  if (members.length === 0 || members.length > 32) return undefined;
  if (!members.every((m) => traceStateMember.test(m))) return undefined;
  const value = members.join(',');
  return value.length <= 512 ? value : undefined;
}

// Computed once per raw request: the child logger is built before any hook runs, and the hook
// reads the same answer back, so the log lines and the request agree on the trace id. Kept on the
// request itself, not in a WeakMap: every entry of a WeakMap keyed by a young object is more work
// for each young-generation GC, and this is one per request.
const traceContext = Symbol('agentry.traceContext');
type Traced = IncomingMessage & { [traceContext]?: TraceContext };

export function traceContextOf(req: Traced): TraceContext {
  let ctx = req[traceContext];
  if (!ctx) {
    const parent = parseTraceparent(req.headers.traceparent);
    if (parent) parent.traceState = traceStateOf(req.headers.tracestate);
    ctx = parent ?? {
      // A caller's X-Trace-ID is kept when it is a valid trace id; otherwise a v4 UUID's hex is 122
      // random bits: enough for a trace id, and Node's randomUUID draws from a cached entropy pool
      // instead of a call into the CSPRNG per request.
      traceId: givenTraceId(req.headers['x-trace-id']) ?? randomUUID().replaceAll('-', ''),
      flags: '01',
    };
    req[traceContext] = ctx;
  }
  return ctx;
}

/**
 * Fastify's per-request logger, with the trace id bound beside the request id, so that every line
 * logged for a request (by a hook, a handler or Fastify itself) carries both. Most requests log
 * nothing, so the pino child is made on the first line logged: made for every request it was a
 * few percent of the gateway's CPU per call.
 */
export function childLoggerFactory(
  logger: FastifyBaseLogger,
  bindings: Record<string, unknown>,
  options: Parameters<FastifyBaseLogger['child']>[1],
  raw: IncomingMessage,
): FastifyBaseLogger {
  return new RequestLogger(logger, bindings, options, raw);
}

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

class RequestLogger implements FastifyBaseLogger {
  private made?: FastifyBaseLogger;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Record<string, unknown>,
    private readonly options: Parameters<FastifyBaseLogger['child']>[1],
    private readonly raw: IncomingMessage,
  ) {}

  private get logger(): FastifyBaseLogger {
    this.made ??= this.parent.child(
      { ...this.bindings, trace_id: traceContextOf(this.raw).traceId },
      this.options,
    );
    return this.made;
  }

  get level(): string {
    return this.made?.level ?? this.options?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.logger.level = level;
  }

  private line(level: Level, args: unknown[]): void {
    // A line below the parent's level costs no child logger (unless the child has its own level).
    const enabled = (this.parent as { isLevelEnabled?: (l: string) => boolean }).isLevelEnabled;
    if (!this.made && this.options?.level === undefined && enabled && !enabled.call(this.parent, level))
      return;
    (this.logger[level] as (...a: unknown[]) => void)(...args);
  }

  fatal(...args: unknown[]): void {
    this.line('fatal', args);
  }
  error(...args: unknown[]): void {
    this.line('error', args);
  }
  warn(...args: unknown[]): void {
    this.line('warn', args);
  }
  info(...args: unknown[]): void {
    this.line('info', args);
  }
  debug(...args: unknown[]): void {
    this.line('debug', args);
  }
  trace(...args: unknown[]): void {
    this.line('trace', args);
  }
  silent(): void {}

  child(bindings: Record<string, unknown>, options?: Parameters<FastifyBaseLogger['child']>[1]) {
    return this.logger.child(bindings, options);
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** W3C trace id: from `traceparent` when valid, else fresh. */
    traceId: string;
    /** The span this request's work hangs under: its SERVER span when traced, else the caller's. */
    parentSpanId?: string;
    /** The caller's W3C `tracestate`, passed on unchanged to the upstreams called for it. */
    traceState?: string;
  }
}

/** Echoes the request id and exposes the trace context on the request. */
export function registerRequestContext(app: FastifyInstance): void {
  app.decorateRequest('traceId', '');
  app.decorateRequest('parentSpanId', undefined);
  app.decorateRequest('traceState', undefined);
  app.addHook('onRequest', async (request, reply) => {
    const ctx = traceContextOf(request.raw);
    request.traceId = ctx.traceId;
    request.parentSpanId = ctx.parentSpanId;
    // A caller that does not record this trace (flags 00): nothing under it is recorded either.
    if (ctx.flags && (Number.parseInt(ctx.flags, 16) & 1) === 0) markUnsampled(ctx.parentSpanId);
    request.traceState = ctx.traceState;
    reply.header('x-request-id', request.id);
    reply.header('x-trace-id', ctx.traceId);
  });
}
