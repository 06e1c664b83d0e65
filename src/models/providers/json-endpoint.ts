import type { IncomingHttpHeaders } from 'node:http';
import { createParser } from 'eventsource-parser';
import { type Dispatcher, Pool } from 'undici';
import type { ModelTimeouts } from '../../config/models-config.ts';
import { parseRetryAfter } from '../../resilience/retry.ts';
import { UpstreamError } from '../provider.ts';
import { requestHeaders } from './http-client.ts';

/**
 * One JSON-over-HTTP API endpoint (an OpenAI-compatible base URL): POST a JSON body, get back a
 * JSON answer or a stream of Server-Sent Events, with the provider's status, message and
 * `Retry-After` kept on failure. The connect and first-byte (headers) timeouts are the socket
 * layer's; the total timeout and aborts come from the caller's signal. Nothing is retried here:
 * the gateway retries, once, in one place.
 */
export class JsonEndpoint {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly auth: Record<string, string>;

  constructor(baseURL: string, apiKey: string | undefined, timeouts: ModelTimeouts) {
    const url = new URL(baseURL);
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.auth = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
    this.pool = new Pool(url.origin, {
      connect: { timeout: timeouts.connect_ms },
      headersTimeout: timeouts.first_byte_ms,
      // A streamed body may pause between tokens; the total timeout bounds the whole call instead.
      bodyTimeout: 0,
      keepAliveTimeout: 30_000,
    });
  }

  /** POSTs `body` and answers the parsed JSON of a 2xx answer; anything else is an UpstreamError. */
  async json<T>(path: string, body: unknown, signal: AbortSignal, requestId?: string): Promise<T> {
    const res = await this.post(path, body, signal, requestId, 'application/json');
    try {
      return (await res.body.json()) as T;
    } catch (err) {
      throw transportError(err);
    }
  }

  /**
   * POSTs `body` and, once a 2xx `text/event-stream` answer has started, gives its events' `data` in
   * batches: each batch is what one network read held. The body is read through undici's handler
   * API, not a body stream: on a streamed call every event used to cost a Readable read, an async
   * iterator step and an async-generator hop before the provider saw it.
   */
  async events(path: string, body: unknown, signal: AbortSignal, requestId?: string): Promise<SseReader> {
    const reader = new SseReader(signal);
    // A dispatcher that cannot take the request (closed, bad options) says so to the handler.
    this.pool.dispatch(
      {
        method: 'POST',
        path: this.basePath + path,
        headers: this.headers('text/event-stream', requestId),
        body: JSON.stringify(body),
      },
      reader,
    );
    await reader.started;
    return reader;
  }

  private async post(
    path: string,
    body: unknown,
    signal: AbortSignal,
    requestId: string | undefined,
    accept: string,
  ): Promise<Dispatcher.ResponseData> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool.request({
        method: 'POST',
        path: this.basePath + path,
        headers: this.headers(accept, requestId),
        body: JSON.stringify(body),
        signal,
      });
    } catch (err) {
      throw transportError(err);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return res;
    const text = await res.body.text().catch(() => '');
    throw statusError(res.statusCode, res.headers, text);
  }

  private headers(accept: string, requestId: string | undefined): Record<string, string> {
    return { 'content-type': 'application/json', accept, ...this.auth, ...requestHeaders(requestId) };
  }
}

/**
 * The events of one streamed answer, read as undici delivers the body. `started` settles when the
 * answer's status is known (a non-2xx answer rejects it with the upstream's status and message);
 * `next()` then gives the events that arrived since the last call, waiting for more when there are
 * none, and `undefined` at the end of the body. A consumer that falls behind pauses the socket.
 */
export class SseReader implements Dispatcher.DispatchHandler {
  readonly started: Promise<void>;
  private start!: { resolve: () => void; reject: (err: UpstreamError) => void };
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  /** A non-2xx answer's body, for its error message. */
  private errorText = '';
  private ready: string[] = [];
  private ended = false;
  private failure?: UpstreamError;
  private waiter?: { resolve: (batch: string[] | undefined) => void; reject: (err: UpstreamError) => void };
  private controller?: Dispatcher.DispatchController;
  private readonly parser = createParser({
    onEvent: (e) => {
      if (e.event === 'error') this.fail(streamedError(e.data));
      else this.ready.push(e.data);
    },
  });
  // undici gives bytes whatever the encoding: a multi-byte character may straddle reads.
  private readonly decoder = new TextDecoder();
  private readonly onAbort = () => this.controller?.abort(this.signal.reason);

  constructor(private readonly signal: AbortSignal) {
    this.started = new Promise((resolve, reject) => {
      this.start = { resolve, reject };
    });
    // Nobody may be waiting on `started` when a failure after the start rejects it again.
    this.started.catch(() => {});
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  /** The events that arrived since the last call (waiting for some), or `undefined` at the end. */
  next(): Promise<string[] | undefined> {
    // Events that arrived before a failure are given first, as the upstream sent them.
    if (this.ready.length > 0) {
      const batch = this.ready;
      this.ready = [];
      if (this.controller?.paused) this.controller.resume();
      return Promise.resolve(batch);
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Stops reading: a body left mid-way cannot be reused, so its connection is closed. */
  close(): void {
    this.signal.removeEventListener('abort', this.onAbort);
    if (!this.ended && !this.failure) {
      this.controller?.abort(new UpstreamError('aborted', 'the stream was closed before its end'));
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.signal.aborted) controller.abort(this.signal.reason);
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    this.status = status;
    this.headers = headers;
    if (status >= 200 && status < 300) this.start.resolve();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.status < 200 || this.status >= 300) {
      if (this.errorText.length < 4096) this.errorText += this.decoder.decode(chunk, { stream: true });
      return;
    }
    this.parser.feed(this.decoder.decode(chunk, { stream: true }));
    this.wake();
    if (this.ready.length >= 256 && !controller.paused) controller.pause();
  }

  onResponseEnd(): void {
    this.signal.removeEventListener('abort', this.onAbort);
    if (this.status < 200 || this.status >= 300) {
      this.start.reject(statusError(this.status, this.headers, this.errorText));
      return;
    }
    this.ended = true;
    this.wake();
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.signal.removeEventListener('abort', this.onAbort);
    this.fail(transportError(err));
  }

  private fail(err: UpstreamError): void {
    if (this.failure) return;
    this.failure = err;
    this.start.reject(err);
    this.wake();
    // An error event ends the answer: what follows it is not read.
    if (!this.ended) this.controller?.abort(err);
  }

  /** Answers a waiting `next()`: with the events that arrived, else the failure, else the end. */
  private wake(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    if (this.ready.length > 0) {
      const batch = this.ready;
      this.ready = [];
      waiter.resolve(batch);
    } else if (this.failure) waiter.reject(this.failure);
    else if (this.ended) waiter.resolve(undefined);
    else return;
    this.waiter = undefined;
  }
}

/** A non-2xx answer as an UpstreamError: its status, its message, its `Retry-After`. */
function statusError(status: number, headers: IncomingHttpHeaders, text: string): UpstreamError {
  return new UpstreamError('http', errorMessage(text, status), {
    status,
    retryAfter: parseRetryAfter(header(headers['retry-after'])),
  });
}

/** OpenAI's error body (`{"error": {"message": …}}`), a bare string error, or the text itself. */
function errorMessage(text: string, status: number): string {
  if (!text) return `status code ${status} (no body)`;
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const message =
      typeof parsed.error === 'string'
        ? parsed.error
        : typeof parsed.error?.message === 'string'
          ? parsed.error.message
          : typeof parsed.message === 'string'
            ? parsed.message
            : undefined;
    if (message) return message;
  } catch {
    // Not JSON: the text says what went wrong.
  }
  return text.slice(0, 500);
}

/** An `event: error` in the stream: the upstream failed after it started answering. */
function streamedError(data: string): UpstreamError {
  return new UpstreamError('network', `the upstream sent an error: ${errorMessage(data, 502)}`);
}

/** undici's failures as UpstreamError: timeouts by their code, aborts by name, the rest network. */
export function transportError(err: unknown): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const e = (err ?? {}) as { name?: string; code?: string; message?: string };
  if (e.name === 'AbortError' || e.code === 'UND_ERR_ABORTED') {
    return new UpstreamError('aborted', 'aborted', { cause: err });
  }
  if (/TIMEOUT/.test(e.code ?? '')) {
    return new UpstreamError('timeout', `timed out talking to the provider (${e.code})`, { cause: err });
  }
  return new UpstreamError('network', e.message || String(err), { cause: err });
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
