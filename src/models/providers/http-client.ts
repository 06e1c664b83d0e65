import { Agent, fetch as undiciFetch } from 'undici';
import type { ModelTimeouts } from '../../config/models-config.ts';
import { parseRetryAfter } from '../../resilience/retry.ts';
import { UpstreamError } from '../provider.ts';

/**
 * The fetch both SDKs use: undici with a connection pool per endpoint, so the connect timeout and the
 * first-byte (headers) timeout are enforced by the socket layer. The total timeout and aborts come
 * from the gateway's signal. The SDKs' own retries are off: the gateway retries, once, in one place.
 */
export function endpointFetch(timeouts: ModelTimeouts): typeof globalThis.fetch {
  const dispatcher = new Agent({
    connect: { timeout: timeouts.connect_ms },
    headersTimeout: timeouts.first_byte_ms,
    // A streamed body may pause between tokens; the total timeout bounds the whole call instead.
    bodyTimeout: 0,
    keepAliveTimeout: 30_000,
  });
  return ((url: string | URL, init?: RequestInit) =>
    undiciFetch(url, { ...(init as object), dispatcher })) as unknown as typeof globalThis.fetch;
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
  const name = e.name ?? '';
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

export function requestHeaders(requestId: string | undefined): Record<string, string> | undefined {
  return requestId ? { 'x-request-id': requestId } : undefined;
}
