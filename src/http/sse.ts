import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Gauge } from 'prom-client';
import type { LoggedEvent } from '../events/log.ts';
import { drained } from './drained.ts';

/**
 * Server-Sent Events over a Fastify reply: `id:` lines carrying the log's seq, `Last-Event-ID`
 * (header, or `?last_event_id=` for clients that cannot set headers), heartbeat comments so idle
 * proxies keep the connection, an abort signal that fires when the client goes away, and a bound on
 * the bytes held for a client that does not read.
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
   * Writes one event. A client that falls more than the stream's byte bound behind is disconnected
   * (`fellBehind`, `signal` aborts) rather than holding its sender back or the server's memory.
   */
  send(event: SseEvent): Promise<void>;
  /** The stream was cut because its client fell behind (it may resume with Last-Event-ID). */
  fellBehind: boolean;
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

/** Bytes a stream may hold for a client that does not read before it is disconnected (1 MiB). */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;

/** How long a resumable stream waits for a client that takes no bytes before cutting it off. */
export const DEFAULT_STALL_MS = 10_000;

/**
 * A resumable stream (its events carry ids) holds at most a socket buffer for its client: a client
 * that reads slower than the stream is written waits the sender (backpressure; a run's follower
 * reads the log meanwhile, holding nothing). A client that takes nothing for `stallMs`, or that
 * has more than `maxBufferedBytes` waiting for it, is disconnected and its buffers freed; it
 * resumes with `Last-Event-ID` from the log, nothing lost.
 */
export interface SseOptions {
  heartbeatMs?: number;
  maxBufferedBytes?: number;
  stallMs?: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** `agentry_open_streams{route}`, decorated by buildHttp. */
    openStreams?: Gauge<'route'>;
  }
}

/** Counts `res` among the open streams of its route until its connection closes. */
function countStream(request: FastifyRequest, res: ServerResponse): void {
  const gauge = request.server.openStreams;
  if (!gauge) return;
  const labels = { route: request.routeOptions.url ?? 'unmatched' };
  gauge.inc(labels);
  res.once('close', () => gauge.dec(labels));
}

/**
 * Takes over the raw response and sends the event-stream head: the one place every streaming route
 * (resumable streams here, the OpenAI-format stream of /v1/chat/completions) starts its answer.
 * After this the route must not use `reply.send`.
 */
export function startSse(
  request: FastifyRequest,
  reply: FastifyReply,
  headers: Record<string, string> = {},
): SseWriter {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
    'x-trace-id': request.traceId,
    ...headers,
  });
  countStream(request, res);
  return new SseWriter(res);
}

/** A resumable event stream (see SseOptions). */
export function openSse(request: FastifyRequest, reply: FastifyReply, options: SseOptions = {}): SseStream {
  const controller = new AbortController();
  const limit = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const stallMs = options.stallMs ?? DEFAULT_STALL_MS;
  const writer = startSse(request, reply);
  const res = writer.raw;
  writer.write(': connected\n\n');
  const heartbeat = setInterval(() => {
    // A client that has not read what it was sent needs no keep-alive on top.
    if (!res.writableEnded && !res.writableNeedDrain) writer.write(': keep-alive\n\n');
  }, options.heartbeatMs ?? 15_000);
  heartbeat.unref();
  const stream: SseStream = {
    signal: controller.signal,
    fellBehind: false,
    async send(e: SseEvent) {
      if (res.writableEnded || res.destroyed) return;
      // One frame is always taken, however large (a run's whole answer may be one); the bound is
      // on what was still waiting for the client when it came.
      const waiting = res.writableLength;
      writer.write(sseFrame(e));
      // write()'s answer is not enough here: under the cork it stays true past the high-water mark.
      if (res.writableLength <= res.writableHighWaterMark) return;
      // Bytes held back by the cork are not the client's fault: hand them to the socket first.
      writer.flush();
      if (waiting > limit || !(await drainedWithin(res, stallMs))) cut();
    },
    close,
  };
  /** Everything buffered for this client goes with its socket; the route's loop sees the signal. */
  function cut() {
    stream.fellBehind = true;
    res.destroy();
    close();
  }
  // A drain ends the stream: its client resumes at another process with Last-Event-ID.
  const untrack = request.server.drain?.track(close);
  function close() {
    untrack?.();
    clearInterval(heartbeat);
    if (!controller.signal.aborted) controller.abort();
    if (!res.writableEnded) res.end();
  }
  request.raw.on('close', close);
  res.on('close', close);
  return stream;
}

/** One event as SSE text: `id:`, `event:` and one `data:` line per line of its data. */
export function sseFrame(e: SseEvent): string {
  let frame = '';
  if (e.id !== undefined) frame += `id: ${e.id}\n`;
  if (e.event) frame += `event: ${e.event}\n`;
  const text = typeof e.data === 'string' ? e.data : JSON.stringify(e.data);
  for (const line of text.split('\n')) frame += `data: ${line}\n`;
  return `${frame}\n`;
}

/**
 * The one writer of every event stream (run, task and chat streams here, /v1/chat/completions too).
 * Frames that arrive together (one upstream packet often holds several) leave in one write: the
 * socket is corked until the promise chain that carries them here has drained (a nextTick runs after
 * the microtask queue). setImmediate waited for the rest of the loop's poll phase too, which under
 * load held a first token back by milliseconds. A class rather than closures made per request: a
 * stream in flight holds one small object (the closures, each named by the loader, were ~2% of what
 * a scavenge copied).
 */
export class SseWriter {
  corked = false;

  constructor(readonly raw: ServerResponse) {}

  /** False when the socket's buffer is full: a caller that waits for the client uses `drained(raw)`. */
  write(text: string): boolean {
    if (!this.corked) {
      this.corked = true;
      this.raw.cork();
      process.nextTick(uncork, this);
    }
    return this.raw.write(text);
  }

  /** Sends what the cork holds now rather than on the next tick. */
  flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.raw.uncork();
  }

  /** One `data:` frame (the OpenAI streaming format has no ids or event names). */
  data(payload: string): boolean {
    return this.write(`data: ${payload}\n\n`);
  }
}

function uncork(out: SseWriter): void {
  out.flush();
}

/** True once the response takes writes again (or is gone); false when `ms` pass first. */
async function drainedWithin(res: ServerResponse, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([drained(res).then(() => true), stalled]);
  } finally {
    clearTimeout(timer);
  }
}
