import type { Dispatcher, Pool } from 'undici';
import type { ModelTimeouts } from '../../config/models-config.ts';
import { undici } from '../../net/undici.ts';
import type { CallerSignal } from '../types.ts';
import { type CallIds, requestHeaders } from './http-client.ts';
import { JsonAnswer, SseReader } from './upstream-answer.ts';

/**
 * One JSON-over-HTTP API endpoint (an OpenAI-compatible base URL): POST a JSON body, get back a
 * JSON answer or a stream of Server-Sent Events, with the provider's status, message and
 * `Retry-After` kept on failure. The connect and first-byte (headers) timeouts are the socket
 * layer's; the total timeout and aborts come from the caller's signal. Nothing is retried here:
 * the gateway retries, once, in one place.
 */
export class JsonEndpoint {
  private readonly origin: string;
  private readonly basePath: string;
  private readonly headers: Record<string, string>;
  private readonly timeouts: ModelTimeouts;
  /** Opened at the first call: every configured provider has an endpoint, most are never called. */
  private opened?: Pool;

  /** `headers`: sent with every call (the key, in whatever header the API takes it, and extra ones). */
  constructor(baseURL: string, headers: Record<string, string> | undefined, timeouts: ModelTimeouts) {
    const url = new URL(baseURL);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.headers = headers ?? {};
    this.timeouts = timeouts;
  }

  private get pool(): Pool {
    this.opened ??= new (undici().Pool)(this.origin, {
      connect: { timeout: this.timeouts.connect_ms },
      headersTimeout: this.timeouts.first_byte_ms,
      // A streamed body may pause between tokens; the total timeout bounds the whole call instead.
      bodyTimeout: 0,
      keepAliveTimeout: 30_000,
    });
    return this.opened;
  }

  /**
   * POSTs `body` and answers the parsed JSON of a 2xx answer; anything else is an UpstreamError.
   * `headers`: this call's own (a vendor's key header, a short-lived token).
   */
  json<T>(
    path: string,
    body: unknown,
    signal: CallerSignal,
    ids?: CallIds,
    headers?: Record<string, string>,
  ): Promise<T> {
    const answer = new JsonAnswer<T>(signal);
    this.post(path, body, ids, 'application/json', answer, headers);
    return answer.result;
  }

  /**
   * POSTs `body` and, once a 2xx `text/event-stream` answer has started, gives its events' `data` in
   * batches, each what one network read held. Both kinds of answer are read through undici's
   * handler API (`upstream-answer.ts`), not a body stream: on a streamed call every event used to
   * cost a Readable read, an async iterator step and an async-generator hop before the provider saw
   * it, and every call an AbortSignal listener of undici's own.
   */
  async events(
    path: string,
    body: unknown,
    signal: CallerSignal,
    ids?: CallIds,
    headers?: Record<string, string>,
  ): Promise<SseReader> {
    const reader = new SseReader(signal);
    this.post(path, body, ids, 'text/event-stream', reader, headers);
    await reader.started;
    return reader;
  }

  /** Sends the request; a dispatcher that cannot take it (closed, bad options) tells the handler. */
  private post(
    path: string,
    body: unknown,
    ids: CallIds | undefined,
    accept: string,
    handler: Dispatcher.DispatchHandler,
    headers?: Record<string, string>,
  ): void {
    this.pool.dispatch(
      {
        method: 'POST',
        path: this.basePath + path,
        headers: {
          ...this.headers,
          'content-type': 'application/json',
          accept,
          ...headers,
          ...requestHeaders(ids),
        },
        body: JSON.stringify(body),
      },
      handler,
    );
  }
}
