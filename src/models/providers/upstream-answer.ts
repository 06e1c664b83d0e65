import type { IncomingHttpHeaders } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { createParser, type EventSourceParser } from 'eventsource-parser';
import type { Dispatcher } from 'undici';
import { toError } from '../../errors.ts';
import { parseRetryAfter } from '../../resilience/retry.ts';
import { UpstreamError } from '../provider.ts';
import type { CallerSignal } from '../types.ts';

/**
 * One answer from an upstream, read through undici's handler API as the bytes arrive: no body
 * stream, no AbortSignal of undici's own, no async iteration. A non-2xx answer's body is kept for
 * its error message; the caller's signal aborts the exchange; every failure becomes an
 * UpstreamError. Subclasses say what a 2xx body is.
 */
abstract class UpstreamAnswer implements Dispatcher.DispatchHandler {
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  /** A non-2xx answer's body, for its error message. */
  private errorText = '';
  protected controller?: Dispatcher.DispatchController;
  /**
   * Not a TextDecoder: streaming decode makes it allocate a native ICU converter, which every
   * young-generation GC then has to finalise (one per answer in flight). Made when the answer
   * starts: a call still waiting for its upstream holds none.
   */
  protected decoder!: StringDecoder;
  private readonly onAbort = () => this.controller?.abort(toError(this.signal.reason));

  constructor(private readonly signal: CallerSignal) {
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  /** A 2xx answer started. */
  protected begin(): void {}
  /** Bytes of a 2xx body. */
  protected abstract take(chunk: Buffer, controller: Dispatcher.DispatchController): void;
  /** A 2xx body ended. */
  protected abstract finish(): void;
  /** The answer failed: its status, the transport, or the caller's abort. */
  protected abstract fail(err: UpstreamError): void;

  /** Stops listening to the caller's signal: the exchange is over. */
  protected release(): void {
    this.signal.removeEventListener('abort', this.onAbort);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.signal.aborted) controller.abort(toError(this.signal.reason));
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    this.status = status;
    this.headers = headers;
    this.decoder = new StringDecoder('utf8');
    if (this.ok()) this.begin();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.ok()) this.take(chunk, controller);
    // undici gives bytes whatever the encoding: a multi-byte character may straddle reads.
    else if (this.errorText.length < 4096) this.errorText += this.decoder.write(chunk);
  }

  onResponseEnd(): void {
    this.release();
    if (this.ok()) this.finish();
    else this.fail(statusError(this.status, this.headers, this.errorText));
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.release();
    this.fail(transportError(err));
  }

  private ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }
}

/** A 2xx JSON answer, parsed: `result` resolves with it, or rejects with an UpstreamError. */
export class JsonAnswer<T> extends UpstreamAnswer {
  readonly result: Promise<T>;
  private settle!: { resolve: (value: T) => void; reject: (err: UpstreamError) => void };
  private text = '';

  constructor(signal: CallerSignal) {
    super(signal);
    this.result = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }

  protected take(chunk: Buffer): void {
    this.text += this.decoder.write(chunk);
  }

  protected finish(): void {
    try {
      this.settle.resolve(JSON.parse(this.text + this.decoder.end()) as T);
    } catch {
      this.fail(new UpstreamError('network', 'the upstream answered a body that is not JSON'));
    }
  }

  protected fail(err: UpstreamError): void {
    this.settle.reject(err);
  }
}

/**
 * The events of one streamed answer. `started` settles when the answer's status is known (a non-2xx
 * answer rejects it with the upstream's status and message); `next()` then gives the events that
 * arrived since the last call (usually what one network read held), waiting for more when there
 * are none, and `undefined` at the end of the body. A consumer that falls behind pauses the socket.
 */
export class SseReader extends UpstreamAnswer {
  readonly started: Promise<void>;
  private start!: { resolve: () => void; reject: (err: UpstreamError) => void };
  private ready: string[] = [];
  private ended = false;
  private failure?: UpstreamError;
  private waiter?: { resolve: (batch: string[] | undefined) => void; reject: (err: UpstreamError) => void };
  /** Made when a 2xx answer starts (as the decoder is): a call waiting for its upstream holds none. */
  private parser!: EventSourceParser;

  constructor(signal: CallerSignal) {
    super(signal);
    this.started = new Promise((resolve, reject) => {
      this.start = { resolve, reject };
    });
    // Nobody may be waiting on `started` when a failure after the start rejects it again.
    this.started.catch(() => {});
  }

  /** The events that arrived since the last call (waiting for some), or `undefined` at the end. */
  next(): Promise<string[] | undefined> {
    // Events that arrived before a failure are given first, as the upstream sent them.
    if (this.ready.length > 0) return Promise.resolve(this.takeReady());
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Stops reading: a body left mid-way cannot be reused, so its connection is closed. */
  close(): void {
    this.release();
    if (!this.ended && !this.failure) {
      this.controller?.abort(new UpstreamError('aborted', 'the stream was closed before its end'));
    }
  }

  protected override begin(): void {
    this.parser = createParser({
      onEvent: (e) => {
        if (e.event !== 'error') {
          this.ready.push(e.data);
          return;
        }
        // An error event ends the answer: what follows it is not read.
        const err = streamedError(e.data);
        this.fail(err);
        this.controller?.abort(err);
      },
    });
    this.start.resolve();
  }

  protected take(chunk: Buffer, controller: Dispatcher.DispatchController): void {
    this.parser.feed(this.decoder.write(chunk));
    this.wake();
    if (this.ready.length >= 256 && !controller.paused) controller.pause();
  }

  protected finish(): void {
    this.ended = true;
    this.wake();
  }

  protected fail(err: UpstreamError): void {
    if (this.failure) return;
    this.failure = err;
    this.start.reject(err);
    this.wake();
  }

  /** Answers a waiting `next()`: with the events that arrived, else the failure, else the end. */
  private wake(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    if (this.ready.length > 0) waiter.resolve(this.takeReady());
    else if (this.failure) waiter.reject(this.failure);
    else if (this.ended) waiter.resolve(undefined);
    else return;
    this.waiter = undefined;
  }

  /** The events waiting, handed over; a socket paused for them reads on. */
  private takeReady(): string[] {
    const batch = this.ready;
    this.ready = [];
    if (this.controller?.paused) this.controller.resume();
    return batch;
  }
}

/**
 * A non-2xx answer as an UpstreamError: its status, its message, its `Retry-After` (or, from Azure
 * and OpenAI when that is absent, `retry-after-ms`; from Google's APIs, which send neither, the
 * body's RetryInfo detail).
 */
function statusError(status: number, headers: IncomingHttpHeaders, text: string): UpstreamError {
  const ms = Number(header(headers['retry-after-ms']));
  return new UpstreamError('http', errorMessage(text, status), {
    status,
    retryAfter:
      parseRetryAfter(header(headers['retry-after'])) ??
      (Number.isFinite(ms) && ms >= 0 ? ms / 1000 : retryInfoDelay(text)),
  });
}

/**
 * Seconds from a `google.rpc.RetryInfo` detail (`"retryDelay": "43s"`, a JSON Duration) of a
 * Google error body (`{"error": {"details": [...]}}`, or that object in an array).
 */
function retryInfoDelay(text: string): number | undefined {
  if (!text.includes('RetryInfo')) return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    const body = (Array.isArray(parsed) ? parsed[0] : parsed) as { error?: { details?: unknown } };
    const details = Array.isArray(body?.error?.details) ? body.error.details : [];
    for (const d of details as Array<{ '@type'?: unknown; retryDelay?: unknown }>) {
      if (!String(d?.['@type']).endsWith('google.rpc.RetryInfo')) continue;
      const m = /^(\d+(?:\.\d+)?)s$/.exec(String(d.retryDelay));
      if (m) return Math.ceil(Number(m[1]));
    }
  } catch {
    // Not JSON: no delay to read.
  }
  return undefined;
}

/** OpenAI's error body (`{"error": {"message": …}}`), a bare string error, or the text itself. */
function errorMessage(text: string, status: number): string {
  if (!text) return `status code ${status} (no body)`;
  try {
    const json = JSON.parse(text) as unknown;
    // Google's streaming endpoints wrap their error object in an array.
    const parsed = (Array.isArray(json) ? json[0] : json) as {
      error?: { message?: unknown } | string;
      message?: unknown;
    };
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
function transportError(err: unknown): UpstreamError {
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
