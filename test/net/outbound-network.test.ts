import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { guardedFetch, OutboundError, outboundRequest } from '../../src/net/outbound.ts';
import { fakeInternet, PUBLIC_ADDRESS } from '../helpers/internet.ts';

/** A loopback server: `/to?u=` redirects, `/stream` streams 1200 bytes without a length, else `name`. */
async function site(name: string) {
  const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
  const server: Server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/to') {
      res.writeHead(302, { location: url.searchParams.get('u') ?? '/' });
      return void res.end();
    }
    if (url.pathname === '/stream') {
      res.write('x'.repeat(600));
      return void res.end('x'.repeat(600));
    }
    res.end(name);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const caught = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: unknown) => err,
  );

describe('the guarded client on a fake internet', () => {
  let outside: Awaited<ReturnType<typeof site>>;
  let inside: Awaited<ReturnType<typeof site>>;
  const network = fakeInternet({
    'public.test': PUBLIC_ADDRESS,
    'other.test': PUBLIC_ADDRESS,
    'sneaky.test': '127.0.0.1',
  });
  const strict = { allowPrivate: false, timeoutMs: 5_000, maxBytes: 1000, maxRedirects: 3, network };
  before(async () => {
    outside = await site('public hello');
    inside = await site('internal secret');
  });
  after(async () => {
    await outside.close();
    await inside.close();
  });
  const via = (to: string) => `http://public.test:${outside.port}/to?u=${encodeURIComponent(to)}`;

  it('reaches a name that resolves to a public address', async () => {
    const res = await outboundRequest(`http://public.test:${outside.port}/`, {}, strict);
    assert.equal(res.body.toString(), 'public hello');
  });

  it('refuses a redirect from an allowed server to loopback, by literal address and by name', async () => {
    for (const to of [`http://127.0.0.1:${inside.port}/a`, `http://sneaky.test:${inside.port}/b`]) {
      const err = await caught(outboundRequest(via(to), {}, strict));
      assert.ok(err instanceof OutboundError && err.kind === 'refused', `${to}: ${err}`);
    }
    assert.deepEqual(inside.seen, [], 'the loopback server was never asked');
    const ok = await outboundRequest(via(`http://other.test:${outside.port}/`), {}, strict);
    assert.equal(ok.body.toString(), 'public hello');
  });

  it('does not carry credentials to another origin on a redirect', async () => {
    const headers = { authorization: 'Bearer s3cret', cookie: 'a=b', 'x-request-id': 'r1' };
    await outboundRequest(via(`http://other.test:${outside.port}/landing`), { headers }, strict);
    const [first, second] = outside.seen.slice(-2);
    assert.equal(first?.headers.authorization, 'Bearer s3cret');
    assert.equal(second?.url, '/landing');
    assert.equal(second?.headers.authorization, undefined);
    assert.equal(second?.headers.cookie, undefined);
    assert.equal(second?.headers['x-request-id'], 'r1');
  });

  describe('as a fetch for client libraries (MCP)', () => {
    let allow = false;
    const fetch = guardedFetch({ allowPrivate: async () => allow, maxBytes: 1000, maxRedirects: 3, network });

    it('checks every hop of a redirect it follows, and the address after DNS', async () => {
      for (const to of [`http://127.0.0.1:${inside.port}/a`, `http://sneaky.test:${inside.port}/b`]) {
        const err = await caught(fetch(via(to)));
        assert.ok(err instanceof OutboundError && err.kind === 'refused', `${to}: ${err}`);
      }
      const named = await caught(fetch(`http://sneaky.test:${inside.port}/`));
      assert.ok(named instanceof OutboundError && named.kind === 'refused', String(named));
      assert.match(named.message, /sneaky\.test resolves to non-public 127\.0\.0\.1/);
      assert.deepEqual(inside.seen, []);
      const ok = await fetch(via(`http://other.test:${outside.port}/`), {
        headers: { authorization: 'Bearer s3cret' },
      });
      assert.equal(await ok.text(), 'public hello');
      assert.equal(outside.seen.at(-1)?.headers.authorization, undefined);
    });

    it('cuts a streamed answer past the cap with a clear error', async () => {
      const res = await fetch(`http://public.test:${outside.port}/stream`);
      const err = await caught(res.text());
      assert.ok(err instanceof OutboundError && err.kind === 'too_large', String(err));
      assert.match(err.message, /larger than 1000 bytes/);
    });

    it("reads the tenant's allow-private switch at each request", async () => {
      allow = true;
      const res = await fetch(`http://127.0.0.1:${inside.port}/`);
      assert.equal(await res.text(), 'internal secret');
      allow = false;
      const err = await caught(fetch(`http://127.0.0.1:${inside.port}/`));
      assert.ok(err instanceof OutboundError && err.kind === 'refused', String(err));
    });
  });
});
