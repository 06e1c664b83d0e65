import type { ServerResponse } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Gauge } from 'prom-client';
import type { LoggedEvent } from '../events/log.ts';
import { CallSignal } from '../models/call-signal.ts';
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
  /**
   * Aborts when the client disconnects (or `close()` is called). A CallSignal rather than an
   * AbortSignal (an EventTarget with two Maps): a stream may wait long for its first event, and
   * holds it all along; `toAbortSignal()` makes a real one for the APIs that need one.
   */
  signal: CallSignal;
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

/** How long a stream waits for a client that takes no bytes before cutting it off. */
export const DEFAULT_STALL_MS = 10_000;

/**
 * A stream holds at most a socket buffer for its client: a client that reads slower than the stream
 * is written waits the sender (backpressure; a run's follower reads the log meanwhile, holding
 * nothing). A client that takes nothing for `stallMs`, or that has more than `maxBufferedBytes`
 * waiting for it, is disconnected and its buffers freed; a resumable stream's client resumes with
 * `Last-Event-ID` from the log, nothing lost. Defaults: `server.stream_stall_ms` and
 * `server.stream_max_buffered_bytes`.
 */
export interface StreamLimits {
  maxBufferedBytes: number;
  stallMs: number;
}

/** How often an open resumable stream gets a comment, so idle proxies keep its connection. */
const HEARTBEAT_S = 15;
/**
 * The open resumable streams in HEARTBEAT_S groups, and the one timer that sends their heartbeats:
 * each second, the group whose turn it is. A timer per stream was heap (the timer, its closure and
 * context) that every stream waiting on a model held; one timer for all would write to every stream
 * in the same turn of the loop (ten thousand writes at once). A stream joins the group of the
 * current second, whose next turn is at most HEARTBEAT_S away: its first heartbeat comes within
 * HEARTBEAT_S of its start, and each next one HEARTBEAT_S after the last.
 */
const beating: Array<Set<SseWriter>> = Array.from({ length: HEARTBEAT_S }, () => new Set());
let beatTurn = 0;
let heartbeat: NodeJS.Timeout | undefined;

function beat(): void {
  beatTurn = (beatTurn + 1) % HEARTBEAT_S;
  for (const writer of beating[beatTurn]!) {
    // A client that has not read what it was sent needs no keep-alive on top.
    if (!writer.raw.writableEnded && !writer.raw.writableNeedDrain) writer.write(': keep-alive\n\n');
  }
}

function startBeating(writer: SseWriter): void {
  beating[beatTurn]!.add(writer);
  heartbeat ??= setInterval(beat, 1000).unref();
}

function stopBeating(writer: SseWriter): void {
  if (!beating.some((group) => group.delete(writer))) return;
  if (heartbeat && beating.every((group) => group.size === 0)) {
    clearInterval(heartbeat);
    heartbeat = undefined;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** `agentry_open_streams{route}`, decorated by buildHttp. */
    openStreams?: Gauge<'route'>;
    /** The configured limits of every stream, decorated by buildHttp. */
    streamLimits?: StreamLimits;
  }
}

/** Counts `res` among the open streams of its route until its connection closes. */
function countStream(request: FastifyRequest, res: ServerResponse): void {
  const gauge = request.server.openStreams;
  if (!gauge) return;
  const labels = { route: request.routeOptions.url ?? 'unmatched' };
  gauge.inc(labels);
  // `on`, not `once`: a response closes once, and `once` wraps the listener in two more objects.
  res.on('close', () => gauge.dec(labels));
}

/**
 * Takes over the raw response and sends the event-stream head: the one place every streaming route
 * (resumable streams here, the OpenAI-format stream of /v1/chat/completions) starts its answer.
 * After this the route must not use `reply.send`; it writes through the writer's `send`, which
 * holds the stream's limits.
 */
export function startSse(
  request: FastifyRequest,
  reply: FastifyReply,
  headers: Record<string, string> = {},
  options: Partial<StreamLimits> = {},
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
  const configured = request.server.streamLimits;
  return new SseWriter(res, {
    maxBufferedBytes: options.maxBufferedBytes ?? configured?.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
    stallMs: options.stallMs ?? configured?.stallMs ?? DEFAULT_STALL_MS,
  });
}

/** A resumable event stream (see StreamLimits). */
export function openSse(
  request: FastifyRequest,
  reply: FastifyReply,
  options: Partial<StreamLimits> = {},
): SseStream {
  const signal = new CallSignal();
  const writer = startSse(request, reply, {}, options);
  const res = writer.raw;
  writer.write(': connected\n\n');
  startBeating(writer);
  const stream: SseStream = {
    signal,
    fellBehind: false,
    async send(e: SseEvent) {
      if (res.writableEnded || res.destroyed) return;
      if (await writer.send(sseFrame(e))) return;
      stream.fellBehind = writer.cut;
      close();
    },
    close,
  };
  // A drain ends the stream: its client resumes at another process with Last-Event-ID.
  const untrack = request.server.drain?.track(close);
  function close() {
    untrack?.();
    stopBeating(writer);
    signal.abort(new Error('the event stream closed'));
    writer.end();
  }
  // The response's close, not the request's: a request emits 'close' once its body has been read
  // (Node 24 does so after the route has started streaming), while the client is still listening.
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
  /** The client was cut off for falling behind (its socket is destroyed). */
  cut = false;

  constructor(
    readonly raw: ServerResponse,
    private readonly limits: StreamLimits = {
      maxBufferedBytes: DEFAULT_MAX_BUFFERED_BYTES,
      stallMs: DEFAULT_STALL_MS,
    },
  ) {}

  /** Writes without waiting (heartbeats, a stream's head); `send` is what holds the limits. */
  write(text: string): boolean {
    if (!this.corked) {
      this.corked = true;
      this.raw.cork();
      process.nextTick(uncork, this);
    }
    return this.raw.write(text);
  }

  /**
   * Writes `text` and, when the client has not taken what it was sent, waits for it, within the
   * limits: a client that takes nothing for `stallMs`, or had more than `maxBufferedBytes` waiting
   * already, is cut off (socket destroyed, buffers freed). False when the stream is gone, cut now
   * or before: the caller stops producing.
   */
  async send(text: string): Promise<boolean> {
    const res = this.raw;
    if (res.destroyed || res.writableEnded) return false;
    // One frame is always taken, however large (a run's whole answer may be one); the bound is on
    // what was still waiting for the client when it came.
    const waiting = res.writableLength;
    this.write(text);
    // write()'s answer is not enough here: under the cork it stays true past the high-water mark.
    if (res.writableLength <= res.writableHighWaterMark) return true;
    // Bytes held back by the cork are not the client's fault: hand them to the socket first.
    this.flush();
    if (waiting <= this.limits.maxBufferedBytes && (await drainedWithin(res, this.limits.stallMs))) {
      // A socket whose kernel buffers still have room (loopback, a client that has not read yet)
      // takes the bytes at once and 'drain' comes on the next tick, without a turn of the event
      // loop: a producer that never waits (the mock model) then wrote a whole answer of megabytes
      // in one go, and a burst of them kept /health/live and every other request out for seconds.
      // One turn per socket-buffer's worth written lets the rest in.
      await nextTurn();
      return !res.destroyed;
    }
    this.cut = true;
    res.destroy();
    return false;
  }

  /**
   * Sends what the cork holds now rather than on the next tick, in one write. Node 24's response
   * uncorks its socket before it hands over the chunk it held (its size line, the frames, the line
   * ends: a write each, four or more for one frame); the socket corked around it takes them as one.
   */
  flush(): void {
    if (!this.corked) return;
    this.corked = false;
    const { socket } = this.raw;
    socket?.cork();
    this.raw.uncork();
    socket?.uncork();
  }

  /**
   * Ends the stream after what the cork holds: Node 24 sends the end of a corked chunked response
   * (its last chunk, `0`) ahead of the chunks still corked, and the client would never see them.
   * The socket itself stays corked from the flush to the end (`end` uncorks it), so the last frames
   * and the end leave in one write, not two: on loopback a write costs the sender the receiver's
   * side of TCP too.
   */
  end(text?: string): void {
    const { raw } = this;
    if (raw.writableEnded) {
      this.flush();
      return;
    }
    raw.socket?.cork();
    this.flush();
    raw.end(text);
  }

  /** One `data:` frame (the OpenAI streaming format has no ids or event names), within the limits. */
  data(payload: string): Promise<boolean> {
    return this.send(`data: ${payload}

`);
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
