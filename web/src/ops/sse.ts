import { createParser } from 'eventsource-parser';
import { apiKey } from '../api';

export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/**
 * Follows one of the server's SSE routes. EventSource cannot send the API key in a header, so this
 * reads the stream with fetch; it ends when the server closes the stream or `signal` aborts.
 */
export async function followSse(path: string, onMessage: (m: SseMessage) => void, signal: AbortSignal) {
  const res = await fetch(path, {
    headers: { authorization: `Bearer ${apiKey.get() ?? ''}`, accept: 'text/event-stream' },
    signal,
  });
  if (!res.ok || !res.body) throw new Error(`stream ${path}: ${res.status}`);
  const parser = createParser({ onEvent: (e) => onMessage({ id: e.id, event: e.event, data: e.data }) });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    parser.feed(value);
  }
}
