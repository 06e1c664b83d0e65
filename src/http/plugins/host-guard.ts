import type { FastifyInstance, FastifyRequest } from 'fastify';
import ipaddr from 'ipaddr.js';
import { AppError } from '../../errors.ts';
import { normalHost } from '../../net/ssrf.ts';

/**
 * DNS-rebinding and cross-origin protection for every route. A web page whose name an attacker
 * re-points at 127.0.0.1 reaches a local server as its own origin: the browser sends the attacker's
 * name as `Host`, and `Origin` to match. So:
 *
 * - `Host` must be an IP address, `localhost`, the host of `a2a.public_url`, or one of
 *   `server.allowed_hosts` (`name`, `name:port`, `*.domain`, or `*` for any). This holds whenever
 *   `allowed_hosts` is set, and always when the server binds a loopback address (the default):
 *   rebinding needs a name, and an IP address or localhost in `Host` is this server's own.
 *   A server bound to another address answers any Host until `allowed_hosts` lists its names.
 * - `Origin`, when a browser sends one, must be the page's own server (its host and port are the
 *   request's `Host`) or one of `server.allowed_origins` (`scheme://host[:port]`, or `*`).
 *
 * Either refusal is a 403 before authentication, so no credential (a console session, a dev-mode
 * header, a loopback key) is ever used for a page of another site.
 */
export interface HostGuardOptions {
  /** The address the server binds. */
  bind: string;
  allowedHosts: string[];
  allowedOrigins: string[];
  publicUrl?: string;
}

interface Authority {
  host: string;
  port: string;
}

/** A `Host` header (or an allow-list entry) as host and port; undefined when it is not one. */
function authorityOf(value: string): Authority | undefined {
  try {
    const url = new URL(`http://${value}`);
    if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return undefined;
    return { host: normalHost(url.hostname), port: url.port };
  } catch {
    // Not a host (the URL parser refuses it): the caller refuses the request or skips the entry.
    return undefined;
  }
}

const isIp = (host: string) => ipaddr.isValid(host);

/** Whether an address the server binds is loopback only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackBind(bind: string): boolean {
  const host = normalHost(bind);
  if (host === 'localhost') return true;
  if (!isIp(host)) return false;
  const ip = ipaddr.process(host);
  return ip.range() === 'loopback';
}

/** The rule for `Host`: undefined when every Host is answered. */
export function hostRule(o: HostGuardOptions): ((a: Authority) => boolean) | undefined {
  if (o.allowedHosts.includes('*')) return undefined;
  if (o.allowedHosts.length === 0 && !isLoopbackBind(o.bind)) return undefined;
  const entries = [...o.allowedHosts, ...(o.publicUrl ? [new URL(o.publicUrl).host] : [])].flatMap((e) => {
    const wildcard = e.startsWith('*.');
    const a = authorityOf(wildcard ? e.slice(2) : e);
    return a ? [{ ...a, wildcard }] : [];
  });
  return (a) =>
    isIp(a.host) ||
    a.host === 'localhost' ||
    entries.some(
      (e) =>
        (e.port === '' || e.port === a.port) &&
        (e.wildcard ? a.host.endsWith(`.${e.host}`) : a.host === e.host),
    );
}

function refuse(message: string): AppError {
  return new AppError('forbidden', message);
}

export function registerHostGuard(app: FastifyInstance, o: HostGuardOptions): void {
  const hostAllowed = hostRule(o);
  const anyOrigin = o.allowedOrigins.includes('*');
  const origins = new Set(o.allowedOrigins.map((x) => x.toLowerCase().replace(/\/+$/, '')));
  // A server hears a handful of Host values: each is parsed and judged once (the URL parser and the
  // address check were ~2% of the gateway's CPU per call). Bounded, as Host is the client's to send.
  const seen = new Map<string, { host?: Authority; allowed: boolean }>();
  const judge = (value: string) => {
    let verdict = seen.get(value);
    if (!verdict) {
      const host = authorityOf(value);
      verdict = { host, allowed: host !== undefined && (!hostAllowed || hostAllowed(host)) };
      if (seen.size >= 256) seen.clear();
      seen.set(value, verdict);
    }
    return verdict;
  };
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const { host, allowed } = judge(request.host);
    if (!host) throw refuse('the Host header is missing or malformed');
    if (!allowed) {
      throw refuse(
        `this server does not answer to the host ${host.host}: list it in server.allowed_hosts (AGENTRY_ALLOWED_HOSTS)`,
      );
    }
    const origin = request.headers.origin;
    if (origin === undefined || anyOrigin || origins.has(origin.toLowerCase())) return;
    const from = URL.canParse(origin) ? new URL(origin) : undefined;
    const own =
      from !== undefined &&
      (from.protocol === 'http:' || from.protocol === 'https:') &&
      normalHost(from.hostname) === host.host &&
      from.port === host.port;
    if (!own) {
      throw refuse(
        `requests from pages of ${origin} are refused: list the origin in server.allowed_origins (AGENTRY_ALLOWED_ORIGINS)`,
      );
    }
  });
}
