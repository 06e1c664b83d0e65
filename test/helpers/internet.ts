import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { OutboundNetwork } from '../../src/net/outbound.ts';

/** A public address (example.com's) that the fake internet routes to loopback: nothing leaves the machine. */
export const PUBLIC_ADDRESS = '93.184.216.34';

/**
 * A stand-in for DNS and the internet, for the guarded outbound client: `names` maps host names to
 * the address each resolves to (`localhost` resolves as the system's would), and the one public
 * address is dialed on loopback, so a test can have an "allowed" server and a loopback one side by
 * side. The client's checks run on the resolved addresses; no other public address is ever dialed.
 */
export function fakeInternet(names: Record<string, string>): OutboundNetwork {
  const lookup: LookupFunction = (hostname, options, callback) => {
    // As DNS does: case and a trailing dot do not change the name.
    const name = hostname.toLowerCase().replace(/\.$/, '');
    const address = name === 'localhost' ? '127.0.0.1' : names[name];
    if (!address) {
      const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      return callback(err, '', 0);
    }
    const found: LookupAddress = { address, family: address.includes(':') ? 6 : 4 };
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, [found]);
    callback(null, found.address, found.family);
  };
  return {
    lookup,
    dial: (address) => {
      if (address === PUBLIC_ADDRESS) return '127.0.0.1';
      if (address.startsWith('127.') || address === '::1') return address;
      throw new Error(`the fake internet does not route ${address}`);
    },
  };
}
