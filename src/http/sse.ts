import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LoggedEvent } from '../events/log.ts';
import { drained } from './drained.ts';

/**
 * Server-Sent Events over a Fastify reply: `id:` lines carrying the log's seq, `Last-Event-ID`
 * (header, or `?last_event_id=` for clients that cannot set headers), heartbeat comments so idle
 * proxies keep the connection, and an abort signal that fires when the client goes away.
 */

export interface SseEvent {
  id?: number | string;
  event?: string;
  data: unknown;
}

export interface SseStream {
  /** Aborts when the client disconnects (or `close()` is called). */
  signal: AbortSignal;
  /**
   * Writes one event; resolves once the client's socket takes more. A client that falls behind
   * holds its sender back instead of having the server buffer the rest of the stream for it.
   */
  send(event: SseEvent): Promise<void>;
  close(): void;
}

/** A logged event (a run's or a task's) as a frame: its seq is the id a client resumes after. */
export function eventFrame(e: LoggedEvent): SseEvent {
  return { id: e.seq, event: e.type, data: { type: e.type, at: e.at, ...e.data } };
}

/** The seq a client asks to resume after: 0 when absent or not a non-negative integer. */
export function lastEventId(request: FastifyRequest): number {
  const header = request.headers['last-event-id'];
  const query = (request.query as Record<string, unknown> | undefined)?.last_event_id;
  const raw = (Array.isArray(header) ? header[0] : header) ?? (typeof query === 'string' ? query : undefined);
  if (!raw || !/^\d{1,18}$/.test(raw)) return 0;
  return Number(raw);
}

/** Takes over the raw response; after this the route must not use `reply.send`. */
export function openSse(request: FastifyRequest, reply: FastifyReply, heartbeatMs = 15_000): SseStream {
  const controller = new AbortController();
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
    'x-trace-id': request.traceId,
  });
  res.write(': connected\n\n');
  const heartbeat = setInterval(() => {
    // A client that has not read what it was sent needs no keep-alive on top.
    if (!res.writableEnded && !res.writableNeedDrain) res.write(': keep-alive\n\n');
  }, heartbeatMs);
  heartbeat.unref();
  const close = () => {
    clearInterval(heartbeat);
    if (!controller.signal.aborted) controller.abort();
    if (!res.writableEnded) res.end();
  };
  request.raw.on('close', close);
  res.on('close', close);
  return {
    signal: controller.signal,
    async send(e: SseEvent) {
      if (res.writableEnded) return;
      let frame = '';
      if (e.id !== undefined) frame += `id: ${e.id}\n`;
      if (e.event) frame += `event: ${e.event}\n`;
      const text = typeof e.data === 'string' ? e.data : JSON.stringify(e.data);
      for (const line of text.split('\n')) frame += `data: ${line}\n`;
      if (!res.write(`${frame}\n`)) await drained(res);
    },
    close,
  };
}
