import { type EventSourceMessage, EventSourceParserStream } from 'eventsource-parser/stream';
import { AgentryError } from './errors.ts';
import type { RunEvent } from './events.ts';

/** Opens one connection to a run's event stream; resolves once the server answered with a stream. */
export type Opener = (signal: AbortSignal, lastEventId: number | undefined) => Promise<Response>;

export interface ResumeOptions {
  /** Reconnections in a row that bring no event before the stream gives up (default 5). */
  maxReconnects?: number;
  /** The wait before the first reconnection, doubled for each further one (default 250 ms, at most 5 s). */
  reconnectDelayMs?: number;
}

export interface StreamOptions {
  /** Stops the stream (the iterator throws the signal's reason); the run itself carries on. */
  signal?: AbortSignal;
  /** Resume after this event id (an event's `id`); without it the stream starts at the run's first event. */
  lastEventId?: number;
}

/** Statuses worth another connection: the server or a proxy before it is briefly unavailable. */
const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

/**
 * A run's events as one iterator over as many connections as it takes: when a connection drops
 * (reset, cut by a proxy, closed by a server shutting down) before the run's `session_end`, the
 * run's stream is opened again with `Last-Event-ID` set to the last event received, so nothing is
 * repeated and nothing missed. `first` opens the first connection (a chat's POST starts the run);
 * later ones go to `GET /v1/runs/{id}/stream` through `reopen`, once the run's id is known from its
 * `session_start`. Leaving the loop early (break, return, an exception) closes the connection.
 */
export async function* resumableRunEvents(
  first: Opener,
  reopen: (runId: string) => Opener,
  options: StreamOptions & ResumeOptions & { runId?: string },
): AsyncGenerator<RunEvent, void, undefined> {
  const maxReconnects = options.maxReconnects ?? 5;
  const delay = options.reconnectDelayMs ?? 250;
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let runId = options.runId;
  let last = options.lastEventId;
  let open = first;
  let failures = 0;
  try {
    for (;;) {
      let cause: unknown;
      let requestId: string | undefined;
      try {
        const response = await open(signal, last);
        requestId = response.headers.get('x-request-id') ?? undefined;
        for await (const m of messages(response, signal)) {
          if (m.data === '[DONE]') return;
          const event = toEvent(m);
          if (event === undefined) continue;
          last = event.id;
          failures = 0;
          if (event.type === 'session_start') runId ??= event.run_id;
          yield event;
          if (event.type === 'session_end') return;
        }
        // Ended without session_end: the connection closed (a server shutting down closes it
        // cleanly), or the caller aborted.
        if (options.signal?.aborted) throw options.signal.reason;
      } catch (err) {
        if (options.signal?.aborted) throw options.signal.reason ?? err;
        if (err instanceof AgentryError && !RETRYABLE.has(err.status)) throw err;
        cause = err;
      }
      // Before session_start nothing names the run: a chat cannot be resumed (sending it again
      // would start a second run).
      if (runId === undefined) {
        if (cause instanceof AgentryError) throw cause;
        throw AgentryError.connection('the stream ended before it named its run', cause, requestId);
      }
      failures += 1;
      if (failures > maxReconnects) {
        throw AgentryError.connection(
          `the stream of run ${runId} dropped ${failures} times in a row without an event`,
          cause,
          requestId,
        );
      }
      await sleep(Math.min(delay * 2 ** (failures - 1), 5000), signal);
      open = reopen(runId);
    }
  } finally {
    stop.abort();
  }
}

/** The messages of one Server-Sent Events answer, until it ends or errors (a dropped connection). */
async function* messages(response: Response, signal: AbortSignal): AsyncGenerator<EventSourceMessage> {
  if (!response.body) throw AgentryError.connection('the stream answered without a body', undefined);
  const reader = response.body
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream())
    .getReader();
  // The caller aborted; a body that fails to cancel is released with the response.
  const cancel = () => reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    signal.removeEventListener('abort', cancel);
    cancel();
  }
}

/** An event frame as a typed event; frames without an id or JSON data (none are sent) are skipped. */
function toEvent(m: EventSourceMessage): RunEvent | undefined {
  const id = Number(m.id);
  if (!m.id || !Number.isSafeInteger(id)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(m.data);
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  return { ...(data as object), type: m.event ?? (data as { type: string }).type, id } as RunEvent;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const done = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', done);
      resolve();
    }, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
