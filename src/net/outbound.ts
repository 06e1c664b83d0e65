import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector, type Dispatcher, request } from 'undici';
import { guardedLookup, isPublicAddress, refusedAddress, refusedUrl } from './ssrf.ts';

/**
 * The one client for requests a client of Agentry can point somewhere (remote runtimes, task
 * callbacks, MCP servers over HTTP, and every URL to come). Each request is checked three times:
 * the URL before it is sent, every redirect hop's URL before it is followed, and the address each
 * connection really opens to, after DNS (`guardedLookup`) or as written (a literal address skips
 * DNS, so the connector checks it). A response is read up to a byte cap and the whole exchange,
 * redirects included, runs under one deadline. The tenant's allow-private switch is the only way
 * around the address rules; the cap and the deadline always hold.
 */

export type OutboundFailure = 'refused' | 'timeout' | 'too_large' | 'network' | 'redirects';

export class OutboundError extends Error {
  constructor(
    readonly kind: OutboundFailure,
    message: string,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

export interface OutboundOptions {
  /** The tenant policy's switch: loopback and private addresses may be reached. */
  allowPrivate: boolean;
  /** Deadline for the whole exchange, redirects and body included. */
  timeoutMs: number;
  /** The most bytes of a response body read; more fails with `too_large`. */
  maxBytes: number;
  /** Redirects followed (each hop checked); 0 hands a 3xx back as the answer. */
  maxRedirects?: number;
  signal?: AbortSignal;
  /** DNS for the connect-time check (tests resolve names to loopback with it). */
  lookup?: LookupFunction;
}

export interface OutboundRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
}

export interface OutboundResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The URL that answered, after redirects. */
  url: string;
}

export function headerValue(res: OutboundResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

const dispatchers = new Map<string, Dispatcher>();

/**
 * An undici dispatcher whose every connection is checked against the SSRF rules (unless
 * `allowPrivate`). Shared per setting so connections are reused; use it for any client library
 * that takes a dispatcher or a fetch (the MCP SDK).
 */
export function guardedDispatcher(allowPrivate: boolean, lookup?: LookupFunction): Dispatcher {
  const key = String(allowPrivate);
  const cached = lookup ? undefined : dispatchers.get(key);
  if (cached) return cached;
  const base = buildConnector({ lookup: guardedLookup(allowPrivate, lookup) } as buildConnector.BuildOptions);
  const agent = new Agent({
    connect: (opts, callback) => {
      const host = opts.hostname.replace(/^\[|\]$/g, '');
      if (!allowPrivate && ipaddr.isValid(host) && !isPublicAddress(host)) {
        return callback(refusedAddress(host, host), null);
      }
      return base(opts, callback);
    },
  });
  if (!lookup) dispatchers.set(key, agent);
  return agent;
}

const redirectCodes = new Set([301, 302, 303, 307, 308]);

/** Sends one request under the SSRF rules, the deadline and the byte cap; throws `OutboundError`. */
export async function outboundRequest(
  url: string,
  init: OutboundRequest,
  o: OutboundOptions,
): Promise<OutboundResponse> {
  const deadline = AbortSignal.timeout(o.timeoutMs);
  const signal = o.signal ? AbortSignal.any([o.signal, deadline]) : deadline;
  const dispatcher = guardedDispatcher(o.allowPrivate, o.lookup);
  let current = url;
  let method = init.method ?? 'GET';
  let body = init.body;
  for (let hop = 0; ; hop++) {
    const refused = refusedUrl(current, o.allowPrivate);
    if (refused) throw new OutboundError('refused', `${current} refused: ${refused}`);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(current, { method, headers: init.headers, body, dispatcher, signal });
    } catch (err) {
      throw failure(err, o, deadline);
    }
    const location = res.headers.location;
    if (redirectCodes.has(res.statusCode) && typeof location === 'string' && (o.maxRedirects ?? 0) > 0) {
      await res.body.dump().catch(() => {});
      if (hop >= (o.maxRedirects ?? 0)) {
        throw new OutboundError('redirects', `${url}: more than ${o.maxRedirects} redirects`);
      }
      current = new URL(location, current).href;
      // As browsers do: a 303, or a 301/302 after a POST, continues as a GET without the body.
      if (res.statusCode === 303 || (res.statusCode < 303 && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
      continue;
    }
    return {
      status: res.statusCode,
      headers: res.headers,
      body: await readCapped(res, o, deadline),
      url: current,
    };
  }
}

async function readCapped(res: Dispatcher.ResponseData, o: OutboundOptions, deadline: AbortSignal) {
  const declared = Number(res.headers['content-length']);
  if (declared > o.maxBytes) {
    res.body.destroy();
    throw tooLarge(o);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > o.maxBytes) {
        res.body.destroy();
        throw tooLarge(o);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    throw failure(err, o, deadline);
  }
  return Buffer.concat(chunks);
}

const tooLarge = (o: OutboundOptions) =>
  new OutboundError('too_large', `the answer is larger than ${o.maxBytes} bytes`);

function failure(err: unknown, o: OutboundOptions, deadline: AbortSignal): Error {
  if (err instanceof OutboundError) return err;
  if (o.signal?.aborted) return o.signal.reason as Error;
  if (deadline.aborted) return new OutboundError('timeout', `no answer within ${o.timeoutMs} ms`);
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  if (e.code === 'EREFUSEDADDRESS' || e.cause?.code === 'EREFUSEDADDRESS') {
    return new OutboundError('refused', (e.code === 'EREFUSEDADDRESS' ? e : e.cause!).message);
  }
  return new OutboundError('network', `unreachable: ${e.cause?.message ?? e.message}`);
}
