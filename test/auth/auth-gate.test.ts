import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { RouteAccess } from '../../src/http/plugins/auth.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { createKey, createTenant } from './fixtures.ts';

/**
 * The routes that answer without credentials, decided here on purpose rather than read from the
 * routes' own config: making a route public has to show up as a change to this list.
 */
const publicRoutes: Array<[method: string, url: RegExp]> = [
  ['GET', /^\/health$/],
  // Orchestrators' probes carry no credentials.
  ['GET', /^\/health\/(live|ready)$/],
  ['GET', /^\/v1\/templates$/],
  ['GET', /^\/v1\/templates\/:id$/],
  // isA's template catalogue is public in its contract, as /v1/templates is (src/http/compat/isa.ts).
  ['GET', /^\/api\/v1\/agents\/templates$/],
  ['GET', /^\/api\/v1\/agents\/templates\/:id$/],
  // isA's pool manager's counts are public in its contract: four numbers, no tenant's data.
  ['GET', /^\/api\/v1\/pools\/:type\/stats$/],
  // The API description and its browser page hold no tenant data.
  ['GET', /^\/openapi\.json$/],
  ['GET', /^\/docs(\/.*)?$/],
  // The web console's page and bundles hold no data; it signs in with a key or a one-time code.
  [
    'GET',
    /^\/(agents|playground|teams|tasks|runs|datasets|experiments|evaluators|score-configs|review|knowledge|usage|settings)?(\/\*)?$/,
  ],
  ['GET', /^\/assets\/\*$/],
  ['POST', /^\/v1\/auth\/sign-in$/],
  // A2A agent cards are discovery documents, served only for agents published to A2A (doors/a2a).
  ['GET', /^\/a2a\/:agent\/\.well-known\/agent-card\.json$/],
  ['GET', /^\/\.well-known\/agent-card\.json$/],
  // The server's A2A card: the published agents and where their cards are.
  ['GET', /^\/a2a\/\.well-known\/agent-card\.json$/],
];

/**
 * Public to the gate but checked by their own (http/plugins/scrape-auth.ts: the metrics token or
 * an admin key): they must still refuse a request without credentials.
 */
const ownGate: Array<[method: string, url: RegExp]> = [['GET', /^\/metrics$/]];
const hasOwnGate = (r: RouteAccess) =>
  ownGate.some(([m, url]) => (r.method === m || (r.method === 'HEAD' && m === 'GET')) && url.test(r.url));

const isPublic = (r: RouteAccess) =>
  publicRoutes.some(
    ([m, url]) => (r.method === m || (r.method === 'HEAD' && m === 'GET')) && url.test(r.url),
  );

/** A concrete URL for a route pattern: every parameter becomes a fresh UUID. */
const concrete = (url: string) =>
  url.replace(/:[A-Za-z_]\w*/g, () => randomUUID()).replace(/\*$/, 'anything');

const rank = { read: 1, write: 2, admin: 3 } as const;

for (const store of stores) {
  describe(`auth gate of every route on ${store}`, () => {
    let s: TestServer;
    let routes: RouteAccess[];
    const keys: Record<'read' | 'write' | 'admin', string> = { read: '', write: '', admin: '' };
    let otherTenantAdmin: string;

    /** Status only: the body is dropped unread, so a streaming route cannot hold the test. */
    const statusOf = async (r: RouteAccess, headers: Record<string, string>) => {
      const res = await fetch(`${s.url}${concrete(r.url)}`, {
        method: r.method,
        headers,
        signal: AbortSignal.timeout(10_000),
      }).catch((err: Error) => {
        throw new Error(`${r.method} ${r.url}: ${err.name}`);
      });
      await res.body?.cancel();
      return res.status;
    };

    before(async () => {
      s = await startServer(store);
      routes = s.app.http.routeAccess();
      keys.admin = s.adminKey;
      keys.write = (await createKey(s, ['write'])).secret;
      keys.read = (await createKey(s, ['read'])).secret;
      otherTenantAdmin = (await createTenant(s, 'gate-other')).adminKey;
    });
    after(() => s.close());

    it('finds the routes of every module through the app', () => {
      const urls = new Set(routes.map((r) => r.url));
      for (const url of [
        '/v1/agents',
        '/v1/templates',
        '/v1/multi-agents',
        '/v1/keys',
        '/v1/tenants',
        '/health',
      ]) {
        assert.ok(urls.has(url), `${url} is registered`);
      }
    });

    it('makes public only the routes listed as public', () => {
      const open = routes.filter((r) => r.auth === 'public' || r.auth === 'optional');
      const unexpected = open
        .filter((r) => !isPublic(r) && !hasOwnGate(r))
        .map((r) => `${r.method} ${r.url}`);
      assert.deepEqual(
        unexpected,
        [],
        'routes answering without credentials that are not on the public list',
      );
    });

    it('answers the public routes without credentials', async () => {
      for (const r of routes.filter(isPublic)) {
        const url = r.url.includes(':id') ? r.url.replace(':id', 'basic-assistant') : r.url;
        const status = await statusOf({ ...r, url }, {});
        assert.ok(status !== 401 && status !== 403, `${r.method} ${r.url} answered ${status}`);
      }
      for (const path of ['/health', '/v1/templates', '/v1/templates/researcher', '/openapi.json', '/docs']) {
        const res = await fetch(`${s.url}${path}`);
        await res.body?.cancel();
        assert.equal(res.status, 200, `GET ${path}`);
      }
    });

    it('answers 401 without credentials on every other route', async () => {
      const failures: string[] = [];
      for (const r of routes.filter((r) => !isPublic(r))) {
        const status = await statusOf(r, {});
        if (status !== 401) failures.push(`${r.method} ${r.url} -> ${status}`);
      }
      assert.deepEqual(failures, []);
    });

    it('answers 401 to malformed, unknown and foreign-kind credentials on every other route', async () => {
      const unknownKey = `agk_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('base64url')}`;
      const forged = `${keys.read.slice(0, -4)}AAAA`;
      const attempts: Array<[string, Record<string, string>]> = [
        ['malformed bearer key', { authorization: 'Bearer agk_not-a-key' }],
        ['unknown bearer key', { authorization: `Bearer ${unknownKey}` }],
        ['known prefix, wrong secret', { authorization: `Bearer ${forged}` }],
        ['malformed X-API-Key', { 'x-api-key': 'hello' }],
        ['unknown X-API-Key', { 'x-api-key': unknownKey }],
        ['not a bearer scheme', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
        ['a JWT while none is configured', { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig' }],
        ['X-User-Id outside dev mode', { 'x-user-id': 'mallory' }],
        ['internal header without the secret', { 'x-internal-service': 'true' }],
      ];
      const failures: string[] = [];
      for (const r of routes.filter((r) => !isPublic(r))) {
        for (const [what, headers] of attempts) {
          const status = await statusOf(r, headers);
          if (status !== 401) failures.push(`${r.method} ${r.url} with ${what} -> ${status}`);
        }
      }
      assert.deepEqual(failures, []);
    });

    it('answers 403 to a key whose scope is too small, and lets a sufficient one through', async () => {
      const failures: string[] = [];
      for (const r of routes.filter((r) => !isPublic(r) && !hasOwnGate(r))) {
        const needed = r.auth as keyof typeof rank;
        for (const scope of ['read', 'write', 'admin'] as const) {
          const status = await statusOf(r, { authorization: `Bearer ${keys[scope]}` });
          const expected = rank[scope] < rank[needed] ? 403 : 'passes';
          const ok = expected === 403 ? status === 403 : status !== 401 && status !== 403;
          if (!ok) failures.push(`${r.method} ${r.url} (needs ${needed}) with ${scope} key -> ${status}`);
        }
      }
      assert.deepEqual(failures, []);
      // The metrics gate takes an admin key (or its token), nothing less.
      for (const r of routes.filter(hasOwnGate)) {
        assert.equal(
          await statusOf(r, { authorization: `Bearer ${keys.read}` }),
          403,
          `${r.method} ${r.url}`,
        );
        assert.ok(
          (await statusOf(r, { authorization: `Bearer ${keys.admin}` })) < 400,
          `${r.method} ${r.url}`,
        );
      }
    });

    it('keeps root-only routes to the default tenant: another tenant admin gets 403', async () => {
      const rootOnly = routes.filter((r) => r.root);
      assert.ok(
        rootOnly.some((r) => r.url === '/v1/tenants'),
        'tenant management is root-only',
      );
      for (const r of rootOnly) {
        assert.equal(
          await statusOf(r, { authorization: `Bearer ${otherTenantAdmin}` }),
          403,
          `${r.method} ${r.url}`,
        );
      }
    });

    it('renders the gate answers in the error format with the request id', async () => {
      const res = await s.request('POST', '/v1/agents', {
        key: null,
        body: { name: 'x' },
        headers: { 'x-request-id': 'gate-check-1' },
      });
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'unauthorized');
      assert.equal(res.body.request_id, 'gate-check-1');
      const forbidden = await s.request('POST', '/v1/agents', { key: keys.read, body: { name: 'x' } });
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.body.error.code, 'forbidden');
      assert.match(forbidden.body.error.message, /write/);
    });

    it('checks credentials before the body: no credentials and a bad body still answer 401', async () => {
      const res = await s.request('POST', '/v1/multi-agents', { key: null, body: '{not json' });
      assert.equal(res.status, 401);
      const read = await s.request('POST', '/v1/multi-agents', { key: keys.read, body: { bogus: true } });
      assert.equal(read.status, 403);
    });
  });
}
