import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { buildConnector, Dispatcher } from 'undici';
import { Deadline } from '../resilience/deadline.ts';
import { guardedLookup, isPublicAddress, refusedAddress, refusedUrl } from './ssrf.ts';
import { undici } from './undici.ts';

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
  /** How names resolve and addresses are dialed: the system's unless a test stands in a fake internet. */
  network?: OutboundNetwork;
}

/**
 * DNS and routing for the guarded client. Production passes none (the system resolver, addresses
 * dialed as resolved). Tests pass one from `createApp`'s options: `lookup` resolves names to the
 * addresses a test wants checked, `dial` routes a checked public address to a loopback server.
 * Both act after nothing and before nothing that the checks rely on: every address `lookup`
 * returns is checked, and `dial` only sees addresses that passed.
 */
export interface OutboundNetwork {
  lookup?: LookupFunction;
  dial?: (address: string) => string;
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

const systemNetwork: OutboundNetwork = {};
const dispatchers = new WeakMap<OutboundNetwork, Map<string, Dispatcher>>();

/**
 * An undici dispatcher whose every connection is checked against the SSRF rules (unless
 * `allowPrivate`). Shared per setting (and network) so connections are reused, and never shared
 * between the two settings: a connection opened for a tenant that may reach private addresses
 * never carries a request of one that may not. Client libraries that take a fetch use `guardedFetch`.
 */
export function guardedDispatcher(
  allowPrivate: boolean,
  network: OutboundNetwork = systemNetwork,
): Dispatcher {
  let byKey = dispatchers.get(network);
  if (!byKey) {
    byKey = new Map();
    dispatchers.set(network, byKey);
  }
  const key = String(allowPrivate);
  const cached = byKey.get(key);
  if (cached) return cached;
  const { lookup, dial = (a: string) => a } = network;
  const { Agent, buildConnector } = undici();
  const base = buildConnector({
    lookup: guardedLookup(allowPrivate, lookup, dial),
  } as buildConnector.BuildOptions);
  const agent = new Agent({
    connect: (opts, callback) => {
      const host = opts.hostname.replace(/^\[|\]$/g, '');
      // A literal address skips the lookup: it is checked (and routed) here.
      if (!ipaddr.isValid(host)) return base(opts, callback);
      if (!allowPrivate && !isPublicAddress(host)) return callback(refusedAddress(host, host), null);
      try {
        return base({ ...opts, hostname: dial(host) }, callback);
      } catch (err) {
        return callback(err as Error, null);
      }
    },
  });
  byKey.set(key, agent);
  return agent;
}

const redirectCodes = new Set([301, 302, 303, 307, 308]);

/** Sends one request under the SSRF rules, the deadline and the byte cap; throws `OutboundError`. */
export async function outboundRequest(
  url: string,
  init: OutboundRequest,
  options: OutboundOptions,
): Promise<OutboundResponse> {
  const deadline = new Deadline(options.timeoutMs, options.signal);
  try {
    return await exchange(url, init, options, deadline);
  } finally {
    deadline.clear();
  }
}

async function exchange(
  url: string,
  init: OutboundRequest,
  options: OutboundOptions,
  deadline: Deadline,
): Promise<OutboundResponse> {
  const { signal } = deadline;
  const dispatcher = guardedDispatcher(options.allowPrivate, options.network);
  let current = url;
  let method = init.method ?? 'GET';
  let body = init.body;
  let headers = init.headers;
  for (let hop = 0; ; hop++) {
    const refused = refusedUrl(current, options.allowPrivate);
    if (refused) throw new OutboundError('refused', `${current} refused: ${refused}`);
    let res: Dispatcher.ResponseData;
    try {
      res = await undici().request(current, { method, headers, body, dispatcher, signal });
    } catch (err) {
      throw failure(err, options, deadline);
    }
    const location = res.headers.location;
    if (
      redirectCodes.has(res.statusCode) &&
      typeof location === 'string' &&
      (options.maxRedirects ?? 0) > 0
    ) {
      // Draining a redirect's body to reuse the connection; a broken body only costs that socket.
      await res.body.dump().catch(() => {});
      if (hop >= (options.maxRedirects ?? 0)) {
        throw new OutboundError('redirects', `${url}: more than ${options.maxRedirects} redirects`);
      }
      const next = new URL(location, current);
      // As browsers do: a 303, or a 301/302 after a POST, continues as a GET without the body.
      if (res.statusCode === 303 || (res.statusCode < 303 && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
      if (next.origin !== new URL(current).origin) headers = withoutCredentials(headers);
      current = next.href;
      continue;
    }
    return {
      status: res.statusCode,
      headers: res.headers,
      body: await readCapped(res, options, deadline),
      url: current,
    };
  }
}

/** What `guardedFetch` holds each exchange to; the deadline is optional (SDKs keep their own clocks). */
export type GuardedFetchOptions = Omit<OutboundOptions, 'signal' | 'timeoutMs' | 'allowPrivate'> & {
  timeoutMs?: number;
  /** Read at each request, so a policy withdrawn since the client was made applies at once. */
  allowPrivate: () => Promise<boolean>;
};

/**
 * The guarded client as a `fetch`, for client libraries that take one (the MCP SDK): streamed
 * answers stay streamed, but every hop's URL is checked, redirects are followed here (never by
 * undici, so each hop is checked like the first and credentials stay with their origin), every
 * connection passes the guarded dispatcher, and the body is cut with a `too_large` error past
 * `maxBytes`.
 */
export function guardedFetch(options: GuardedFetchOptions): typeof fetch {
  const guarded = async (input: string | URL, init: RequestInit = {}): Promise<Response> => {
    const allowPrivate = await options.allowPrivate();
    // Not cleared: the answer's body is read after this returns, under the same deadline.
    const deadline =
      options.timeoutMs === undefined ? undefined : new Deadline(options.timeoutMs, init.signal);
    const signal = deadline?.signal ?? init.signal ?? undefined;
    const limits = { ...options, allowPrivate, timeoutMs: options.timeoutMs ?? 0 };
    let current = new URL(input);
    let hopInit = init;
    for (let hop = 0; ; hop++) {
      const refused = refusedUrl(current.href, allowPrivate);
      if (refused) throw new OutboundError('refused', `${current.href} refused: ${refused}`);
      let res: Response;
      try {
        res = (await undici().fetch(current, {
          ...(hopInit as object),
          redirect: 'manual',
          signal,
          dispatcher: guardedDispatcher(allowPrivate, options.network),
        })) as unknown as Response;
      } catch (err) {
        throw failure(err, { ...limits, signal: init.signal ?? undefined }, deadline);
      }
      const location = res.headers.get('location');
      if (!redirectCodes.has(res.status) || !location || (options.maxRedirects ?? 0) === 0) {
        return cappedResponse(res, limits);
      }
      // The redirect's body is not read; a failed cancel only costs that socket.
      await res.body?.cancel().catch(() => {});
      if (hop >= (options.maxRedirects ?? 0)) {
        throw new OutboundError('redirects', `${input}: more than ${options.maxRedirects} redirects`);
      }
      const next = new URL(location, current);
      hopInit = nextHopInit(hopInit, res.status, next.origin !== current.origin);
      current = next;
    }
  };
  return guarded as typeof fetch;
}

/** The fetch-shaped twin of the rules in `outboundRequest`: method, body and credentials on a redirect. */
function nextHopInit(init: RequestInit, status: number, crossOrigin: boolean): RequestInit {
  let next = init;
  if (status === 303 || (status < 303 && (init.method ?? 'GET').toUpperCase() === 'POST')) {
    const { body: _body, ...rest } = init;
    next = { ...rest, method: 'GET' };
  }
  if (crossOrigin && next.headers) {
    const headers = new Headers(next.headers);
    for (const name of credentialHeaders) headers.delete(name);
    next = { ...next, headers };
  }
  return next;
}

/** The answer with its body read through the byte cap, as a stream. */
function cappedResponse(res: Response, options: Pick<OutboundOptions, 'maxBytes'>): Response {
  if (Number(res.headers.get('content-length')) > options.maxBytes) {
    // Refused by its Content-Length (the error below says so); a failed cancel only costs that socket.
    void res.body?.cancel().catch(() => {});
    throw tooLarge(options);
  }
  if (!res.body || [101, 204, 205, 304].includes(res.status)) return res;
  const reader = res.body.getReader();
  let seen = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      seen += value.byteLength;
      if (seen > options.maxBytes) {
        // Over the byte cap (the error below says so); a failed cancel only costs that socket.
        void reader.cancel().catch(() => {});
        return controller.error(tooLarge(options));
      }
      controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/** Headers that carry a credential: never sent on to another origin on a redirect, as fetch does. */
const credentialHeaders = new Set(['authorization', 'cookie', 'proxy-authorization']);

function withoutCredentials(headers: Record<string, string> | undefined) {
  if (!headers) return headers;
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !credentialHeaders.has(k.toLowerCase())));
}

async function readCapped(res: Dispatcher.ResponseData, options: OutboundOptions, deadline: Deadline) {
  const declared = Number(res.headers['content-length']);
  if (declared > options.maxBytes) {
    res.body.destroy();
    throw tooLarge(options);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > options.maxBytes) {
        res.body.destroy();
        throw tooLarge(options);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    throw failure(err, options, deadline);
  }
  return Buffer.concat(chunks);
}

const tooLarge = (options: Pick<OutboundOptions, 'maxBytes'>) =>
  new OutboundError('too_large', `the answer is larger than ${options.maxBytes} bytes`);

function failure(err: unknown, options: OutboundOptions, deadline?: Deadline): Error {
  if (err instanceof OutboundError) return err;
  if (options.signal?.aborted) return options.signal.reason as Error;
  if (deadline?.passed) return new OutboundError('timeout', `no answer within ${options.timeoutMs} ms`);
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  if (e.code === 'EREFUSEDADDRESS' || e.cause?.code === 'EREFUSEDADDRESS') {
    return new OutboundError('refused', (e.code === 'EREFUSEDADDRESS' ? e : e.cause!).message);
  }
  return new OutboundError('network', `unreachable: ${e.cause?.message ?? e.message}`);
}
