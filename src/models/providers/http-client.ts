import type { Dispatcher } from 'undici';
import type { ModelTimeouts } from '../../config/models-config.ts';
import { undici } from '../../net/undici.ts';
import { parseRetryAfter } from '../../resilience/retry.ts';
import { UpstreamError } from '../provider.ts';

/**
 * The fetch both SDKs use: undici with a connection pool per endpoint, so the connect timeout and the
 * first-byte (headers) timeout are enforced by the socket layer. The total timeout and aborts come
 * from the gateway's signal. The SDKs' own retries are off: the gateway retries, once, in one place.
 *
 * Requests with a string or byte body (every chat and embeddings call) go through undici's
 * `request` and come back as a standard `Response`: the spec machinery of `fetch` (Request objects,
 * header guards, redirect and CORS steps) cost about twice the CPU per call, on the gateway's hot
 * path. Anything else (a streamed or form body) takes undici's `fetch`.
 */
export function endpointFetch(timeouts: ModelTimeouts): typeof globalThis.fetch {
  const { Agent, fetch: undiciFetch } = undici();
  const dispatcher = new Agent({
    connect: { timeout: timeouts.connect_ms },
    headersTimeout: timeouts.first_byte_ms,
    // A streamed body may pause between tokens; the total timeout bounds the whole call instead.
    bodyTimeout: 0,
    keepAliveTimeout: 30_000,
  });
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const body = init?.body;
    const simple =
      !(input instanceof Request) &&
      (body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array);
    if (!simple) return undiciFetch(input as string, { ...(init as object), dispatcher });
    return leanFetch(dispatcher, new URL(input), init ?? {}, body as string | Uint8Array | null | undefined);
  }) as unknown as typeof globalThis.fetch;
}

async function leanFetch(
  dispatcher: Dispatcher,
  url: URL,
  init: RequestInit,
  body: string | Uint8Array | null | undefined,
): Promise<Response> {
  const method = (init.method ?? 'GET').toUpperCase();
  const res = await dispatcher.request({
    origin: url.origin,
    path: url.pathname + url.search,
    method: method as Dispatcher.HttpMethod,
    headers: headerRecord(init.headers),
    body: body ?? undefined,
    signal: init.signal ?? undefined,
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.append(name, value);
  }
  // A Response may not carry a body for these statuses (the fetch spec's "null body status").
  const noBody = method === 'HEAD' || [101, 103, 204, 205, 304].includes(res.statusCode);
  if (noBody) res.body.resume();
  const response = new Response(null, { status: res.statusCode, headers });
  if (noBody) return response;
  // The body stays undici's Node stream rather than a web stream around it: both SDKs read a
  // streamed body with `for await` when it is async-iterable, and read whole bodies with
  // text()/json(), which undici's stream has too. Readable.toWeb and the web stream's reads were
  // about a tenth of the gateway's CPU on a streamed call (one read per upstream chunk).
  const stream = res.body;
  Object.defineProperties(response, {
    body: { value: stream },
    bodyUsed: { get: () => stream.bodyUsed },
    text: { value: () => stream.text() },
    json: { value: () => stream.json() },
    arrayBuffer: { value: () => stream.arrayBuffer() },
    bytes: { value: () => stream.bytes() },
  });
  return response;
}

function headerRecord(h: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  if (h instanceof Headers || Array.isArray(h)) {
    for (const [k, v] of h as Iterable<[string, string]>) out[k] = v;
    return out;
  }
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = String(v);
  return out;
}

interface SdkError {
  name?: string;
  status?: number;
  headers?: Headers;
  message?: string;
  cause?: unknown;
}

/** Maps an openai/anthropic SDK error (same shapes: APIError with status and headers) to UpstreamError. */
export function fromSdkError(err: unknown): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const e = (err ?? {}) as SdkError;
  // The SDKs' error classes leave `name` as "Error": their class name tells the kind.
  const className = (err as object | undefined)?.constructor?.name ?? '';
  const name = className.startsWith('API') ? className : (e.name ?? '');
  if (name === 'APIUserAbortError' || name === 'AbortError') {
    return new UpstreamError('aborted', 'aborted', { cause: err });
  }
  const causeCode = String((e.cause as { code?: string } | undefined)?.code ?? '');
  if (name === 'APIConnectionTimeoutError' || /TIMEOUT/.test(causeCode)) {
    return new UpstreamError('timeout', `timed out talking to the provider (${causeCode || 'timeout'})`, {
      cause: err,
    });
  }
  if (typeof e.status === 'number') {
    const retryAfter = parseRetryAfter(e.headers?.get?.('retry-after'));
    return new UpstreamError('http', cleanMessage(e.message ?? `HTTP ${e.status}`), {
      status: e.status,
      retryAfter,
      cause: err,
    });
  }
  return new UpstreamError('network', e.message ?? String(err), { cause: err });
}

/** SDK messages start with the status ("429 Too many"); the gateway adds its own prefix. */
function cleanMessage(message: string): string {
  return message.replace(/^\d{3}\s+/, '');
}

/** What an upstream call carries of the caller's identity: its request id and its trace (W3C). */
export interface CallIds {
  requestId?: string;
  traceparent?: string;
  tracestate?: string;
}

export function requestHeaders(ids: CallIds | undefined): Record<string, string> | undefined {
  if (!ids?.requestId && !ids?.traceparent) return undefined;
  const h: Record<string, string> = {};
  if (ids.requestId) h['x-request-id'] = ids.requestId;
  if (ids.traceparent) h.traceparent = ids.traceparent;
  if (ids.traceparent && ids.tracestate) h.tracestate = ids.tracestate;
  return h;
}
