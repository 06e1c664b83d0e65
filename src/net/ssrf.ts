import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { AppError } from '../errors.ts';

/**
 * The SSRF rules for every URL the server requests on a client's behalf (remote runtimes, task
 * callbacks, MCP servers, the sandbox egress proxy and the web tools behind it). Only public unicast
 * addresses are allowed: loopback, private, link-local (which holds the cloud metadata address
 * 169.254.169.254), unique-local, CGNAT, multicast, reserved and unspecified ranges are refused, as
 * are IPv4-mapped IPv6 forms of them. The rules run at creation (the URL's literal host, here) and
 * at connect time on the resolved address (`guardedLookup`, and `net/outbound.ts`'s connector for
 * literal addresses), so a name that re-resolves to a private address (DNS rebinding) or a redirect
 * to one is still refused. The tenant policy's allow-private switch is the only way around them.
 */

const blockedNames = [/^localhost$/, /\.localhost$/, /^metadata(\.google)?\.internal$/, /\.internal$/];

/**
 * IPv6 global unicast (2000::/3). ipaddr.js calls everything it has no name for `unicast`, which
 * takes in the deprecated IPv4-compatible form `::127.0.0.1` (`::7f00:1`): outside 2000::/3 no
 * address is a public destination.
 */
const globalUnicast = ipaddr.IPv6.parseCIDR('2000::/3');

export function isPublicAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  if (!ipaddr.isValid(bare)) return false;
  let ip = ipaddr.parse(bare);
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) ip = v6.toIPv4Address();
    else if (!v6.match(globalUnicast)) return false;
  }
  return ip.range() === 'unicast';
}

/**
 * A URL's host as the rules compare it: lower case, brackets and trailing dots removed
 * (`LOCALHOST.` is `localhost`). The WHATWG parser already turned decimal, octal and hexadecimal
 * IPv4 forms (`2130706433`, `0177.0.0.1`, `0x7f.1`) into dotted decimal.
 */
export function normalizedHost(url: URL): string {
  return normalHost(url.hostname);
}

/** A host string (a URL's, a CONNECT authority's, an allowlist entry) in the form the rules compare. */
export function normalHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.+$/, '');
}

/**
 * Why a URL is refused before any DNS look-up, or undefined when it may be tried. The scheme and
 * credential rules hold always; `allowPrivate` (the tenant policy's switch) lifts the address rules.
 */
export function refusedUrl(url: string, allowPrivate = false): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a valid URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'only http and https are allowed';
  if (parsed.username || parsed.password) return 'credentials in the URL are not allowed';
  if (allowPrivate) return undefined;
  const host = normalizedHost(parsed);
  if (host === '') return 'the URL has no host';
  if (blockedNames.some((re) => re.test(host))) return `host ${host} is internal`;
  if (ipaddr.isValid(host) && !isPublicAddress(host)) return `address ${host} is not a public address`;
  // Numeric forms the URL parser left alone (it normalizes the valid ones) are not hosts we send to.
  if (/^[0-9.]+$|^0x/i.test(host) && !ipaddr.IPv4.isValidFourPartDecimal(host)) {
    return `host ${host} is a numeric address form that is not allowed`;
  }
  return undefined;
}

/** Throws 400 naming `field` when `url` may not be requested under the tenant's policy. */
export function assertOutboundUrl(url: string, allowPrivate: boolean, field: string): void {
  const reason = refusedUrl(url, allowPrivate);
  if (reason) {
    throw new AppError('validation_error', `${field} refused: ${reason}`, {
      details: [{ in: 'body', path: field, message: reason }],
    });
  }
}

/** The error a refused connection fails with (code `EREFUSEDADDRESS`). */
export function refusedAddress(hostname: string, address: string): NodeJS.ErrnoException {
  const refused: NodeJS.ErrnoException = new Error(`refused: ${hostname} resolves to non-public ${address}`);
  refused.code = 'EREFUSEDADDRESS';
  return refused;
}

/**
 * A socket lookup that refuses non-public addresses after resolution (send-time check). `dial` maps
 * a checked address to the one connected to; only tests set it (see OutboundNetwork).
 */
export function guardedLookup(
  allowPrivate: boolean,
  resolve: LookupFunction = dnsLookup,
  dial: (address: string) => string = (a) => a,
): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, result) => {
      if (err) return callback(err, '', 0);
      const checked = result as unknown as LookupAddress[];
      const bad = checked.find((a) => !allowPrivate && !isPublicAddress(a.address));
      if (bad) return callback(refusedAddress(hostname, bad.address), '', 0);
      let addresses: LookupAddress[];
      try {
        addresses = checked.map((a) => ({ ...a, address: dial(a.address) }));
      } catch (e) {
        return callback(e as Error, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}
