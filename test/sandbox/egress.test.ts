import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createTenant } from '../auth/fixtures.ts';
import { fakeInternet } from '../helpers/internet.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

const SECRET = `search-key-${process.pid}-${Date.now()}`;
process.env.AGENTRY_TEST_SEARCH_KEY = SECRET;

interface Seen {
  path: string;
  authorization?: string;
}

/** A fake site and a fake search endpoint on loopback: what they were asked and with which credential. */
async function fakeWeb(): Promise<{ port: number; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('x'.repeat(64 * 1024));
      return;
    }
    if (req.url?.startsWith('/search')) {
      const q = new URL(req.url, 'http://x').searchParams.get('q');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ results: [{ title: `About ${q}`, url: 'http://127.0.0.1/page' }] }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      '<html><head><title>Fake page</title><script>var hidden = 1;</script></head>' +
        '<body><h1>Hello egress</h1><p>Fish &amp; chips</p></body></html>',
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

// The proxy and the web tools read tenants.yaml policy, not the store: PGlite is enough.
describe('egress proxy and web tools', () => {
  let s: TestServer;
  let web: Awaited<ReturnType<typeof fakeWeb>>;
  let guarded: { id: string };
  let bare: { id: string };
  const call = (tenantId: string, tool: string, args: unknown) =>
    s.app.services.tools.execute(tool, JSON.stringify(args), {
      signal: new AbortController().signal,
      tenantId,
    } as never);

  before(async () => {
    web = await fakeWeb();
    s = await startServer(
      'pglite',
      {
        sandbox: { pools: { bwrap: { size: 1 }, quickjs: { size: 0 } } },
        egress: { max_response_bytes: 8192 },
      },
      { network: fakeInternet({ 'sneaky.test': '127.0.0.1' }) },
    );
    guarded = await createTenant(s, 'egress-guarded');
    bare = await createTenant(s, 'egress-bare');
    const me = await s.app.services.tenants.find(s.app.defaultTenantId);
    s.app.services.policies.set({
      tenants: {
        [me!.name]: {
          network: {
            egress_allow: ['127.0.0.1'],
            allow_private_egress: true,
            // Another name for the same loopback server: the credential goes to this host only.
            search: { url: `http://localhost:${web.port}/search` },
            credentials: [
              {
                domain: 'localhost',
                header: 'Authorization',
                prefix: 'Bearer ',
                env: 'AGENTRY_TEST_SEARCH_KEY',
              },
            ],
          },
        },
        'egress-guarded': { network: { egress_allow: ['127.0.0.1', 'sneaky.test'] } },
      },
    });
  });
  after(async () => {
    await s.close();
    await web.close();
  });

  it('web_crawl fetches an allowed domain and returns the page text, without credentials meant for others', async () => {
    const out = await call(s.app.defaultTenantId, 'web_crawl', { url: `http://127.0.0.1:${web.port}/page` });
    assert.equal(out.ok, true, JSON.stringify(out));
    const page = (out as { output: Record<string, unknown> }).output;
    assert.equal(page.title, 'Fake page');
    assert.equal(page.text, 'Hello egress\nFish & chips');
    assert.equal(page.status, 200);
    const hit = web.seen.find((r) => r.path === '/page');
    assert.ok(hit);
    assert.equal(hit.authorization, undefined);
  });

  it('web_crawl refuses a domain outside the allowlist with a clear error', async () => {
    const out = await call(s.app.defaultTenantId, 'web_crawl', { url: 'http://example.com/' });
    assert.deepEqual(out, {
      ok: false,
      error:
        "egress refused: example.com is not in this tenant's egress allowlist (tenants.yaml network.egress_allow)",
    });
    const scheme = await call(s.app.defaultTenantId, 'web_crawl', { url: 'file:///etc/passwd' });
    assert.deepEqual(scheme, { ok: false, error: 'only http and https URLs can be fetched' });
  });

  it('refuses private addresses unless the tenant allows them, even when listed', async () => {
    const out = await call(guarded.id, 'web_crawl', { url: `http://127.0.0.1:${web.port}/page` });
    assert.equal(out.ok, false);
    assert.match(
      (out as { error: string }).error,
      /^egress refused: address 127\.0\.0\.1 is not a public address/,
    );
  });

  it('refuses an allowed name that resolves to a private address, after DNS, and never calls it', async () => {
    const before = web.seen.length;
    const out = await call(guarded.id, 'web_crawl', { url: `http://sneaky.test.:${web.port}/page` });
    assert.equal(out.ok, false);
    assert.match(
      (out as { error: string }).error,
      /^egress to sneaky\.test\.? failed: sneaky\.test\.? resolves to a private address/,
    );
    assert.equal(web.seen.length, before);
  });

  it('cuts an upstream answer at the configured size', async () => {
    const out = await call(s.app.defaultTenantId, 'web_crawl', { url: `http://127.0.0.1:${web.port}/big` });
    assert.equal(out.ok, true, JSON.stringify(out));
    const page = (out as { output: { text: string; truncated?: boolean } }).output;
    assert.equal(page.truncated, true);
    assert.ok(page.text.length <= 8192, `${page.text.length} characters`);
  });

  it('tunnels CONNECT to an allowed host only', async () => {
    const socketPath = await s.app.services.egress.socketFor(s.app.defaultTenantId);
    const connect = (authority: string) =>
      new Promise<{ status: number; socket: import('node:net').Socket; body: string }>((resolve, reject) => {
        const req = http.request({ socketPath, method: 'CONNECT', path: authority });
        req.on('connect', (res, socket, head) => {
          const chunks: Buffer[] = [head];
          socket.on('data', (c: Buffer) => chunks.push(c));
          if (res.statusCode !== 200) {
            socket.on('end', () =>
              resolve({ status: res.statusCode ?? 0, socket, body: Buffer.concat(chunks).toString() }),
            );
            return;
          }
          resolve({ status: 200, socket, body: '' });
        });
        req.on('error', reject);
        req.end();
      });
    const refused = await connect('example.com:443');
    assert.equal(refused.status, 403);
    assert.match(refused.body, /egress refused: example\.com is not in this tenant's egress allowlist/);
    const tunnel = await connect(`127.0.0.1:${web.port}`);
    assert.equal(tunnel.status, 200);
    const answer = await new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      tunnel.socket.on('data', (c: Buffer) => chunks.push(c));
      tunnel.socket.on('end', () => resolve(Buffer.concat(chunks).toString()));
      tunnel.socket.write(`GET /page HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    assert.match(answer, /^HTTP\/1\.1 200 OK/);
    assert.match(answer, /Hello egress/);
  });

  it('web_search calls the configured endpoint; the proxy adds the credential, the output never holds it', async () => {
    const out = await call(s.app.defaultTenantId, 'web_search', { query: 'sandboxes' });
    assert.equal(out.ok, true, JSON.stringify(out));
    assert.deepEqual((out as { output: unknown }).output, {
      query: 'sandboxes',
      results: { results: [{ title: 'About sandboxes', url: 'http://127.0.0.1/page' }] },
    });
    assert.ok(!JSON.stringify(out).includes(SECRET));
    const hit = web.seen.find((r) => r.path === '/search?q=sandboxes');
    assert.equal(hit?.authorization, `Bearer ${SECRET}`);
  });

  it('answers "not configured" for a tenant with no allowlist and no search endpoint', async () => {
    const crawl = await call(bare.id, 'web_crawl', { url: `http://127.0.0.1:${web.port}/page` });
    assert.deepEqual(crawl, {
      ok: false,
      error:
        'web_crawl is not configured for this tenant: no domains are allowed (tenants.yaml network.egress_allow)',
    });
    const search = await call(bare.id, 'web_search', { query: 'x' });
    assert.deepEqual(search, {
      ok: false,
      error:
        'web_search is not configured for this tenant: it needs a search endpoint (tenants.yaml network.search.url)',
    });
    assert.equal(await s.app.services.egress.sandboxBind(bare.id), undefined);
  });

  it('gives a sandbox the proxy socket only: allowed hosts work, others are refused, no secret inside', async () => {
    const bind = await s.app.services.egress.sandboxBind(s.app.defaultTenantId);
    assert.ok(bind);
    const script = [
      `curl -s --unix-socket ${bind.sandbox} http://127.0.0.1:${web.port}/page; echo`,
      `curl -s --unix-socket ${bind.sandbox} "http://localhost:${web.port}/search?q=inside"; echo`,
      `curl -s --unix-socket ${bind.sandbox} http://example.com/; echo`,
      // Without the proxy there is no network at all.
      `curl -s -m 2 http://127.0.0.1:${web.port}/page || echo "direct: exit $?"`,
      'env; cat /proc/self/environ | tr "\\0" "\\n"',
    ].join('\n');
    const { process: proc, close } = await s.app.services.sandboxes.openProcess('egress-test', script, [
      bind,
    ]);
    const chunks: Buffer[] = [];
    proc.stdout.on('data', (c: Buffer) => chunks.push(c));
    proc.stdin.end();
    await proc.exited;
    await close();
    const out = Buffer.concat(chunks).toString('utf8');
    assert.match(out, /<h1>Hello egress<\/h1>/);
    assert.match(out, /About inside/);
    assert.match(out, /egress refused: example\.com is not in this tenant's egress allowlist/);
    assert.match(out, /direct: exit 7/); // curl: couldn't connect
    assert.ok(!out.includes(SECRET), 'the sandbox never sees the credential');
    const hit = web.seen.find((r) => r.path === '/search?q=inside');
    assert.equal(hit?.authorization, `Bearer ${SECRET}`);
  });
});
