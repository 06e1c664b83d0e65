import { createParser } from 'eventsource-parser';
import { ApiError } from './api';

/** One event of a stream: its log seq (the SSE id), its type and its data. */
export interface RunEvent {
  id: number;
  type: string;
  data: Record<string, unknown>;
}

/**
 * A fetch for the streaming routes the typed client cannot read as a stream: same-origin, so the
 * console's session cookie goes with it.
 */
export async function authorizedFetch(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(path, { ...init, credentials: 'same-origin' });
}

/** The server's error body of a refused request, as the ApiError the pages show. */
export async function errorOf(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => ({}))) as {
    error?: { code?: string; message?: string; details?: unknown };
    request_id?: string;
  };
  return new ApiError(
    res.status,
    body.error?.code ?? 'http_error',
    body.error?.message ?? `${res.status} ${res.statusText}`,
    body.request_id ?? res.headers.get('x-request-id') ?? undefined,
    body.error?.details,
  );
}

export interface FollowOptions {
  /** Opens the first stream (a chat or team run request, or a GET of an event log). */
  open: (signal: AbortSignal) => Promise<Response>;
  onEvent: (e: RunEvent) => void;
  /** Where a dropped stream resumes (GET with `Last-Event-ID`); undefined while it cannot yet. */
  resumeAt: () => string | undefined;
  /** The event after which the stream is over; without one, the server closing it ends it. */
  isLast?: (e: RunEvent) => boolean;
  /** Told each time a dropped connection is resumed. */
  onReconnect?: (attempt: number) => void;
  signal: AbortSignal;
  /** Reconnections in a row without a new event before giving up (default 5). */
  maxRetries?: number;
}

/**
 * The console's one reader of the server's Server-Sent Events, over fetch (so the Authorization
 * header goes along). A connection that drops before the stream's last event is re-opened at
 * `resumeAt()` with `Last-Event-ID`: the server replays what was missed from its log, and an id
 * already seen is skipped, so nothing is repeated or lost. Throws the server's error when a request
 * is refused.
 */
export async function followStream(o: FollowOptions): Promise<void> {
  let lastId = 0;
  let ended = false;
  let failures = 0;
  const parser = createParser({
    onEvent(m) {
      if (m.data === '[DONE]' || m.id === undefined) return;
      const id = Number(m.id);
      if (!Number.isSafeInteger(id) || id <= lastId) return;
      lastId = id;
      failures = 0;
      const data = JSON.parse(m.data) as Record<string, unknown>;
      const event = { id, type: m.event ?? String(data.type ?? 'message'), data };
      if (o.isLast?.(event)) ended = true;
      o.onEvent(event);
    },
  });
  let response = await o.open(o.signal);
  for (;;) {
    if (!response.ok || !response.body) throw await errorOf(response);
    let dropped = false;
    try {
      await readText(response.body, (text) => parser.feed(text), o.signal);
    } catch (err) {
      if (o.signal.aborted) throw err;
      dropped = true; // a network error mid-stream: resumed below
    }
    if (ended || o.signal.aborted || (!dropped && !o.isLast)) return;
    const resume = o.resumeAt();
    if (!resume || failures >= (o.maxRetries ?? 5)) {
      throw new Error('the connection dropped and the stream could not be resumed');
    }
    failures++;
    o.onReconnect?.(failures);
    parser.reset({ consume: false });
    await pause(Math.min(4000, 250 * 2 ** (failures - 1)), o.signal);
    response = await authorizedFetch(resume, {
      headers: { 'last-event-id': String(lastId), accept: 'text/event-stream' },
      signal: o.signal,
    });
  }
}

/** A run's events until its `session_end`; its first event (`session_start`) names the run to resume. */
export function followRun(o: Omit<FollowOptions, 'resumeAt' | 'isLast'>): Promise<void> {
  let runId: string | undefined;
  return followStream({
    ...o,
    resumeAt: () => runId && `/v1/runs/${runId}/stream`,
    isLast: (e) => {
      if (e.type === 'session_start' && typeof e.data.run_id === 'string') runId = e.data.run_id;
      return e.type === 'session_end';
    },
  });
}

async function readText(body: ReadableStream<Uint8Array>, feed: (text: string) => void, signal: AbortSignal) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  // Cancelling fails only on a stream already closed or errored: the read loop below reports that.
  const cancel = () => void reader.cancel().catch(() => {});
  signal.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return feed(decoder.decode());
      feed(decoder.decode(value, { stream: true }));
    }
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}

function pause(ms: number, signal: AbortSignal) {
  return new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
