import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.ts';
import { cutWhenUnread } from '../write-deadline.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** What each admission class holds now (for /metrics and tests). */
    admission: { large: Gate; ingest: Gate };
  }
  interface FastifyContextConfig {
    /**
     * The admission class of a route whose work is heavy whatever its body (ingest: chunking,
     * embedding, many writes): at most `server.admission.<class>_concurrency` run at once.
     */
    admission?: 'ingest';
  }
}

export interface AdmissionLimits {
  /** A request declaring a body this large (or chunked, of unknown size) is a large one. */
  large_body_bytes: number;
  /** Large requests in flight at once. */
  large_concurrency: number;
  /** Bytes of large bodies in flight at once (declared sizes; a chunked body counts as `body_limit`). */
  large_bytes_in_flight: number;
  /** Requests of routes in the `ingest` class in flight at once. */
  ingest_concurrency: number;
}

export interface Gate {
  inFlight: number;
  bytes: number;
}

/**
 * Admission at the edge, before any work starts: before the body is read (so a refused body never
 * occupies memory), before auth (which reads the store). Each class of request has a bound on how
 * many are in flight — requests with large bodies also on the bytes they declare — and one past it
 * is refused at once with 503, `Retry-After` and `Connection: close` (the unread body goes with the
 * connection), rather than queued behind the others holding its body. A burst of large requests
 * then costs the server a bounded amount of memory and time, and what is small (`/health/live`, a
 * run's stream, a read) goes on beside it. Routes marked `shed: false` (health, metrics) are never
 * refused. A slot is held until its answer has left the process — the response closes once the
 * socket has taken its last byte — or its client is cut off: one that stops reading an answer the
 * server has finished is cut after `stallMs` (write-deadline.ts), as streams cut one mid-way, so a
 * burst of answers to clients that do not read holds at most the gate's bound of them, never more
 * and never for ever. Registered before the auth hook.
 */
export function registerAdmission(
  app: FastifyInstance,
  limits: AdmissionLimits,
  options: {
    bodyLimit: number;
    retryAfterSeconds: number;
    /** A client that takes no byte of a finished answer for this long is cut off (`server.stream_stall_ms`). */
    stallMs: number;
    onShed?: (what: string) => void;
  },
): void {
  const large: Gate = { inFlight: 0, bytes: 0 };
  const ingest: Gate = { inFlight: 0, bytes: 0 };
  app.decorate('admission', { large, ingest });

  const refuse = (reply: FastifyReply, what: string) => {
    options.onShed?.(what);
    reply.header('connection', 'close');
    return new AppError('unavailable', `the server is busy (${what}); retry later`, {
      retryAfter: options.retryAfterSeconds,
    });
  };
  /**
   * Holds `bytes` in `gate` until the response closes: once the socket has taken its last byte, or
   * the connection goes (the client left, or was cut off for not reading).
   */
  const hold = (reply: FastifyReply, gate: Gate, bytes: number) => {
    gate.inFlight += 1;
    gate.bytes += bytes;
    // `on`, not `once`: a response closes once, and `once` wraps each listener in two more objects.
    reply.raw.on('close', () => {
      gate.inFlight -= 1;
      gate.bytes -= bytes;
    });
  };

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const config = request.routeOptions.config;
    if (config.shed === false) return;
    const bodyLimit = request.routeOptions.bodyLimit ?? options.bodyLimit;
    const size = declaredSize(request, bodyLimit);
    // Over the route's limit: Fastify answers 413 without reading it.
    if (size > bodyLimit) return;
    const isLarge = size >= limits.large_body_bytes;
    if (isLarge) {
      if (large.inFlight >= limits.large_concurrency) throw refuse(reply, 'large requests in flight');
      if (large.bytes + size > limits.large_bytes_in_flight) throw refuse(reply, 'request bytes in flight');
    }
    if (config.admission === 'ingest' && ingest.inFlight >= limits.ingest_concurrency)
      throw refuse(reply, 'ingests in flight');
    if (isLarge) hold(reply, large, size);
    if (config.admission === 'ingest') hold(reply, ingest, 0);
    if (isLarge || config.admission === 'ingest') cutWhenUnread(reply.raw, options.stallMs);
  });
}

/** The body size a request declares: its Content-Length, or the body limit when it is chunked. */
function declaredSize(request: FastifyRequest, bodyLimit: number): number {
  const length = request.headers['content-length'];
  if (length !== undefined) {
    const n = Number(length);
    return Number.isFinite(n) && n > 0 ? n : 0;
  }
  return request.headers['transfer-encoding'] ? bodyLimit : 0;
}
