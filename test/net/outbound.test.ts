import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { guardedDispatcher, OutboundError, outboundRequest } from '../../src/net/outbound.ts';
import { refusedUrl } from '../../src/net/ssrf.ts';

/** A loopback server: `/big` sends 64 KiB, `/slow` never answers, `/to?u=` redirects, else `hello`. */
async function upstream() {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/big') return void res.end(Buffer.alloc(64 * 1024, 97));
    if (url.pathname === '/slow') return;
    if (url.pathname === '/to') {
      res.writeHead(302, { location: url.searchParams.get('u') ?? '/' });
      return void res.end();
    }
    res.end('hello');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** DNS for the tests: every name resolves to 127.0.0.1 (as a rebinding attacker's name would). */
const toLoopback: LookupFunction = (_host, options, cb) => {
  const all = [{ address: '127.0.0.1', family: 4 }];
  if (options.all) (cb as unknown as (e: null, a: typeof all) => void)(null, all);
  else cb(null, '127.0.0.1', 4);
};

describe('SSRF rules on URLs', () => {
  it('refuses loopback, private and metadata hosts in every spelling', () => {
    for (const url of [
      'http://localhost/',
      'http://localhost./',
      'http://LocalHost../',
      'http://a.localhost/',
      'http://127.0.0.1/',
      'http://127.1/',
      'http://2130706433/',
      'http://017700000001/',
      'http://0x7f.0.0.1/',
      'http://0177.0.0.1/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:a9fe:a9fe]/',
      'http://[::127.0.0.1]/',
      'http://[::7f00:1]/',
      'http://[64:ff9b::7f00:1]/',
      'http://[2002:7f00:1::]/',
      'http://[fd00:ec2::254]/',
      'http://10.0.0.1/',
      'http://192.168.1.1./',
      'http://169.254.169.254/',
      'http://100.64.0.1/',
      'http://0.0.0.0/',
      'http://metadata.google.internal/',
      'http://user:pw@example.com/',
      'file:///etc/passwd',
    ]) {
      assert.ok(refusedUrl(url), `${url} should be refused`);
    }
    for (const url of [
      'https://example.com/',
      'http://93.184.216.34:8080/x',
      'https://EXAMPLE.com./',
      'http://[2606:4700::1111]/',
    ]) {
      assert.equal(refusedUrl(url), undefined, url);
    }
  });
});

describe('guarded outbound client', () => {
  let up: Awaited<ReturnType<typeof upstream>>;
  before(async () => {
    up = await upstream();
  });
  after(async () => {
    await up.close();
  });

  it('refuses a private URL before sending anything', async () => {
    const err = await outboundRequest(`http://localhost.:${up.port}/`, {}, opts(false)).catch((e) => e);
    assert.ok(err instanceof OutboundError && err.kind === 'refused', String(err));
    assert.equal(up.hits.length, 0);
  });

  it('refuses at connect time a name that resolves to a private address', async () => {
    const before = up.hits.length;
    const err = await outboundRequest(
      `http://innocent.example:${up.port}/`,
      {},
      { ...opts(false), network: { lookup: toLoopback } },
    ).catch((e) => e);
    assert.ok(err instanceof OutboundError && err.kind === 'refused', String(err));
    assert.match(err.message, /non-public 127\.0\.0\.1/);
    assert.equal(up.hits.length, before, 'no request reached the server');
  });

  it('refuses a literal private address on every connection of the guarded dispatcher', async () => {
    // What a redirect followed by a client library (the MCP SDK's fetch) would open.
    const before = up.hits.length;
    const err = await request(`${up.url}/`, { dispatcher: guardedDispatcher(false) }).catch((e) => e);
    assert.equal((err as NodeJS.ErrnoException).code, 'EREFUSEDADDRESS', String(err));
    assert.equal(up.hits.length, before);
  });

  it('re-checks every redirect hop', async () => {
    // The policy switch lets the first hop reach loopback; a hop to a refused form is still checked.
    const ok = await outboundRequest(`${up.url}/to?u=/final`, {}, opts(true));
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), 'hello');
    assert.equal(ok.url, `${up.url}/final`);
    const tooMany = await outboundRequest(`${up.url}/to?u=/to`, {}, { ...opts(true), maxRedirects: 1 }).catch(
      (e) => e,
    );
    assert.ok(tooMany instanceof OutboundError && tooMany.kind === 'redirects', String(tooMany));
    const scheme = await outboundRequest(`${up.url}/to?u=file:///etc/passwd`, {}, opts(true)).catch((e) => e);
    assert.ok(scheme instanceof OutboundError && scheme.kind === 'refused', String(scheme));
    assert.match(scheme.message, /only http and https/);
  });

  it('caps the answer and the time', async () => {
    const big = await outboundRequest(`${up.url}/big`, {}, { ...opts(true), maxBytes: 1000 }).catch((e) => e);
    assert.ok(big instanceof OutboundError && big.kind === 'too_large', String(big));
    const slow = await outboundRequest(`${up.url}/slow`, {}, { ...opts(true), timeoutMs: 200 }).catch(
      (e) => e,
    );
    assert.ok(slow instanceof OutboundError && slow.kind === 'timeout', String(slow));
  });
});

function opts(allowPrivate: boolean) {
  return { allowPrivate, timeoutMs: 5_000, maxBytes: 1 << 20, maxRedirects: 3 };
}
