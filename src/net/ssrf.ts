import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * The SSRF guard for URLs the server fetches on a tenant's behalf (task callbacks, MCP servers,
 * the sandbox egress proxy). Only public unicast addresses are allowed: loopback, private,
 * link-local (which holds the cloud metadata address 169.254.169.254), unique-local, CGNAT,
 * multicast, reserved and unspecified ranges are refused, as are IPv4-mapped IPv6 forms of them.
 * It runs twice: on the URL's literal host at creation, and on every address DNS returns at send
 * time, inside the socket's own lookup, so a name that re-resolves to a private address between the
 * check and the connection (DNS rebinding) is still refused.
 */

const blockedNames = [/^localhost$/i, /\.localhost$/i, /^metadata(\.google)?\.internal$/i, /\.internal$/i];

export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) {
    ip = (ip as ipaddr.IPv6).toIPv4Address();
  }
  return ip.range() === 'unicast';
}

/** Why a URL is refused before any DNS look-up, or undefined when it may be tried. */
export function refusedUrl(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a valid URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'only http and https are allowed';
  if (parsed.username || parsed.password) return 'credentials in the URL are not allowed';
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (blockedNames.some((re) => re.test(host))) return `host ${host} is internal`;
  if (ipaddr.isValid(host) && !isPublicAddress(host)) return `address ${host} is not a public address`;
  // Legacy numeric forms (http://2130706433/, http://0x7f.1/) resolve to loopback: refuse them too.
  if (/^[0-9.]+$|^0x/i.test(host) && !ipaddr.IPv4.isValidFourPartDecimal(host)) {
    return `host ${host} is a numeric address form that is not allowed`;
  }
  return undefined;
}

/** A socket lookup that refuses non-public addresses after resolution (send-time check). */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const bad = addresses.find((a) => !allowPrivate && !isPublicAddress(a.address));
      if (bad) {
        const refused = new Error(`callback refused: ${hostname} resolves to non-public ${bad.address}`);
        (refused as NodeJS.ErrnoException).code = 'EREFUSEDADDRESS';
        return callback(refused, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}
