import { createParser } from 'eventsource-parser';
import { ApiError, apiKey } from '../api';

/** One event of a run's stream: its log seq (the SSE id), its type and its data. */
export interface RunEvent {
  id: number;
  type: string;
  data: Record<string, unknown>;
}

/** A fetch with the console's key, for the streaming routes the typed client cannot read as a stream. */
export async function authorizedFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const key = apiKey.get();
  if (key) headers.set('authorization', `Bearer ${key}`);
  return fetch(path, { ...init, headers });
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
  /** Opens the first stream (a chat or team run request); its first event names the run. */
  open: (signal: AbortSignal) => Promise<Response>;
  onEvent: (e: RunEvent) => void;
  /** Told each time a dropped connection is resumed. */
  onReconnect?: (attempt: number) => void;
  signal: AbortSignal;
  /** Reconnections in a row without a new event before giving up (default 5). */
  maxRetries?: number;
}

/**
 * Follows a run's Server-Sent Events over fetch (so the Authorization header goes along) until its
 * `session_end`. A connection that drops before then is re-opened on GET /v1/runs/:id/stream with
 * `Last-Event-ID`: the server replays what was missed from its log, and an id already seen is
 * skipped, so no text is repeated or lost. Throws the server's error when a request is refused.
 */
export async function followRun(o: FollowOptions): Promise<void> {
  let lastId = 0;
  let runId: string | undefined;
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
      const type = m.event ?? String(data.type ?? 'message');
      if (type === 'session_start' && typeof data.run_id === 'string') runId = data.run_id;
      if (type === 'session_end') ended = true;
      o.onEvent({ id, type, data });
    },
  });
  let response = await o.open(o.signal);
  for (;;) {
    if (!response.ok || !response.body) throw await errorOf(response);
    try {
      await readText(response.body, (text) => parser.feed(text), o.signal);
    } catch (err) {
      if (o.signal.aborted) throw err;
      // A network error mid-stream is a dropped connection: resumed below.
    }
    if (ended || o.signal.aborted) return;
    if (!runId || failures >= (o.maxRetries ?? 5)) {
      throw new Error('the connection dropped and the stream could not be resumed');
    }
    failures++;
    o.onReconnect?.(failures);
    parser.reset({ consume: false });
    await pause(Math.min(4000, 250 * 2 ** (failures - 1)), o.signal);
    response = await authorizedFetch(`/v1/runs/${runId}/stream`, {
      headers: { 'last-event-id': String(lastId), accept: 'text/event-stream' },
      signal: o.signal,
    });
  }
}

async function readText(body: ReadableStream<Uint8Array>, feed: (text: string) => void, signal: AbortSignal) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
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
