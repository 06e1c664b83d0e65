import { createParser, type EventSourceMessage } from 'eventsource-parser';
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

  /** POSTs `body` and yields the `data` of each event of a 2xx `text/event-stream` answer. */
  async *events(path: string, body: unknown, signal: AbortSignal, requestId?: string): AsyncIterable<string> {
    const res = await this.post(path, body, signal, requestId, 'text/event-stream');
    const ready: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (e) => ready.push(e) });
    // undici's body yields bytes whatever its encoding: a multi-byte character may straddle reads.
    const decoder = new TextDecoder();
    try {
      for await (const bytes of res.body as AsyncIterable<Uint8Array>) {
        parser.feed(decoder.decode(bytes, { stream: true }));
        for (let i = 0; i < ready.length; i++) {
          const e = ready[i]!;
          if (e.event === 'error') throw streamedError(e.data);
          yield e.data;
        }
        ready.length = 0;
      }
    } catch (err) {
      throw transportError(err);
    } finally {
      // Left early (the caller stopped, or a failure): the connection cannot be reused mid-body.
      if (!res.body.readableEnded) res.body.destroy();
    }
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
        headers: {
          'content-type': 'application/json',
          accept,
          ...this.auth,
          ...requestHeaders(requestId),
        },
        body: JSON.stringify(body),
        signal,
      });
    } catch (err) {
      throw transportError(err);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return res;
    const text = await res.body.text().catch(() => '');
    throw new UpstreamError('http', errorMessage(text, res.statusCode), {
      status: res.statusCode,
      retryAfter: parseRetryAfter(header(res.headers['retry-after'])),
    });
  }
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
