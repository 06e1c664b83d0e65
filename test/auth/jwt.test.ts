import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  type CryptoKey,
  exportJWK,
  type GenerateKeyPairResult,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { createTenant, journalFor } from './fixtures.ts';

const issuer = 'https://idp.test';
const audience = 'agentry';
const hsSecret = 'jwt-shared-secret-0123456789abcdef';
const now = () => Math.floor(Date.now() / 1000);

interface SignOptions {
  alg: string;
  key: CryptoKey | Uint8Array;
  kid?: string;
  claims?: JWTPayload;
  /** Leave a standard claim out (e.g. `exp`) or override it. */
  without?: Array<'exp' | 'sub' | 'iss' | 'aud'>;
  exp?: number;
  iss?: string;
  aud?: string;
}

async function sign(o: SignOptions): Promise<string> {
  const jwt = new SignJWT({ tenant_id: 'default', ...o.claims }).setProtectedHeader({
    alg: o.alg,
    ...(o.kid && { kid: o.kid }),
  });
  const without = new Set(o.without);
  if (!without.has('sub')) jwt.setSubject('alice');
  if (!without.has('iss')) jwt.setIssuer(o.iss ?? issuer);
  if (!without.has('aud')) jwt.setAudience(o.aud ?? audience);
  if (!without.has('exp')) jwt.setExpirationTime(o.exp ?? now() + 600);
  jwt.setIssuedAt();
  return jwt.sign(o.key);
}

/** Tampers with the signature, keeping the token well-formed. */
const flipSignature = (token: string) => {
  const [h, p, sig] = token.split('.');
  const bytes = Buffer.from(sig!, 'base64url');
  bytes[0] = bytes[0]! ^ 0xff;
  return `${h}.${p}.${bytes.toString('base64url')}`;
};

/** A JWKS endpoint as an identity provider would serve it, on loopback. */
async function serveJwks(
  keys: JWK[],
  status = 200,
): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    if (req.url !== '/.well-known/jwks.json' || status !== 200) {
      res.writeHead(req.url === '/.well-known/jwks.json' ? status : 404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    hits: () => hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

for (const store of stores) {
  describe(`JWT bearer with an HS256 secret on ${store}`, () => {
    let s: TestServer;
    const key = new TextEncoder().encode(hsSecret);
    let acme: Awaited<ReturnType<typeof createTenant>>;
    before(async () => {
      s = await startServer(store, {
        auth: { jwt_secret: hsSecret, jwt_issuer: issuer, jwt_audience: audience },
      });
      acme = await createTenant(s, 'acme');
    });
    after(() => s.close());

    it('takes tenant and subject from the claims and grants the scopes claimed', async () => {
      const token = await sign({ alg: 'HS256', key, claims: { scope: 'openid write' } });
      const res = await s.request('POST', '/v1/agents', { key: token, body: { name: 'jwt-made' } });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.tenant_id, s.app.defaultTenantId);
      const [row] = await journalFor(s, res.body.id);
      assert.equal(row?.actor, 'user:alice');

      const acmeToken = await sign({ alg: 'HS256', key, claims: { tenant_id: acme.id, scopes: ['read'] } });
      const list = await s.request('GET', '/v1/agents', { key: acmeToken });
      assert.equal(list.status, 200);
      assert.equal(list.body.total, 0, 'the acme token sees acme rows only');
      const byName = await sign({ alg: 'HS256', key, claims: { tenant_id: 'acme' } });
      assert.equal((await s.request('GET', `/v1/agents/${res.body.id}`, { key: byName })).status, 404);
    });

    it('grants read only when the token claims no scope', async () => {
      const token = await sign({ alg: 'HS256', key });
      assert.equal((await s.request('GET', '/v1/agents', { key: token })).status, 200);
      const write = await s.request('POST', '/v1/agents', { key: token, body: { name: 'nope' } });
      assert.equal(write.status, 403);
      const bogus = await sign({ alg: 'HS256', key, claims: { scope: 'superuser everything' } });
      assert.equal(
        (await s.request('GET', '/v1/agents', { key: bogus })).status,
        403,
        'unknown scopes grant nothing',
      );
    });

    it('answers 401 to an expired, foreign, forged or incomplete token', async () => {
      const otherKey = new TextEncoder().encode('another-secret-0123456789abcdef!!');
      const good = await sign({ alg: 'HS256', key });
      const cases: Array<[string, string]> = [
        ['expired', await sign({ alg: 'HS256', key, exp: now() - 3600 })],
        ['wrong issuer', await sign({ alg: 'HS256', key, iss: 'https://evil.test' })],
        ['wrong audience', await sign({ alg: 'HS256', key, aud: 'someone-else' })],
        ['no issuer', await sign({ alg: 'HS256', key, without: ['iss'] })],
        ['signed with another secret', await sign({ alg: 'HS256', key: otherKey })],
        ['tampered signature', flipSignature(good)],
        [
          'tampered payload',
          good.replace(
            /\.[^.]+\./,
            `.${Buffer.from(JSON.stringify({ sub: 'root', tenant_id: 'default', exp: now() + 600, iss: issuer, aud: audience })).toString('base64url')}.`,
          ),
        ],
        [
          'unsigned (alg none)',
          `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'a', tenant_id: 'default', exp: now() + 600, iss: issuer, aud: audience })).toString('base64url')}.`,
        ],
        ['no expiry', await sign({ alg: 'HS256', key, without: ['exp'] })],
        ['no subject', await sign({ alg: 'HS256', key, without: ['sub'] })],
        ['no tenant claim', await sign({ alg: 'HS256', key, claims: { tenant_id: undefined } })],
        ['unknown tenant', await sign({ alg: 'HS256', key, claims: { tenant_id: 'nobody' } })],
        ['garbage', 'abc.def.ghi'],
      ];
      for (const [what, token] of cases) {
        const res = await s.request('GET', '/v1/agents', { key: token });
        assert.equal(res.status, 401, `${what}: ${res.text}`);
        assert.equal(res.body.error.code, 'unauthorized');
      }
      assert.equal(
        (await s.request('GET', '/v1/agents', { key: good })).status,
        200,
        'the untampered token passes',
      );
    });
  });

  describe(`JWT bearer with a JWKS URL on ${store}`, () => {
    let s: TestServer;
    let jwks: Awaited<ReturnType<typeof serveJwks>>;
    let rsa: GenerateKeyPairResult;
    let ec: GenerateKeyPairResult;
    let stranger: GenerateKeyPairResult;

    before(async () => {
      rsa = await generateKeyPair('RS256', { extractable: true });
      ec = await generateKeyPair('ES256', { extractable: true });
      stranger = await generateKeyPair('RS256', { extractable: true });
      const published = [
        { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
        { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
      ];
      jwks = await serveJwks(published);
      s = await startServer(store, {
        auth: { jwks_url: jwks.url, jwt_issuer: issuer, jwt_audience: audience },
      });
    });
    after(async () => {
      await s.close();
      await jwks.close();
    });

    it('verifies RS256 and ES256 tokens against the published keys', async () => {
      for (const [alg, pair, kid] of [
        ['RS256', rsa, 'rsa-1'],
        ['ES256', ec, 'ec-1'],
      ] as const) {
        const token = await sign({ alg, key: pair.privateKey, kid, claims: { scope: 'write' } });
        const res = await s.request('POST', '/v1/agents', { key: token, body: { name: `jwks-${alg}` } });
        assert.equal(res.status, 201, `${alg}: ${res.text}`);
        const [row] = await journalFor(s, res.body.id);
        assert.equal(row?.actor, 'user:alice');
      }
      assert.ok(jwks.hits() >= 1, 'the key set was fetched from the endpoint');
    });

    it('answers 401 to a token signed by an unpublished key, expired, or for someone else', async () => {
      const cases: Array<[string, string]> = [
        [
          'unpublished key under a published kid',
          await sign({ alg: 'RS256', key: stranger.privateKey, kid: 'rsa-1' }),
        ],
        ['unpublished kid', await sign({ alg: 'RS256', key: stranger.privateKey, kid: 'rsa-2' })],
        ['tampered signature', flipSignature(await sign({ alg: 'ES256', key: ec.privateKey, kid: 'ec-1' }))],
        ['expired', await sign({ alg: 'RS256', key: rsa.privateKey, kid: 'rsa-1', exp: now() - 3600 })],
        [
          'wrong issuer',
          await sign({ alg: 'RS256', key: rsa.privateKey, kid: 'rsa-1', iss: 'https://evil.test' }),
        ],
        ['wrong audience', await sign({ alg: 'RS256', key: rsa.privateKey, kid: 'rsa-1', aud: 'other' })],
        [
          'HS256 while only a JWKS is configured',
          await sign({ alg: 'HS256', key: new TextEncoder().encode(hsSecret) }),
        ],
      ];
      for (const [what, token] of cases) {
        const res = await s.request('GET', '/v1/agents', { key: token });
        assert.equal(res.status, 401, `${what}: ${res.text}`);
      }
    });
  });

  describe(`JWT bearer with a failing JWKS endpoint on ${store}`, () => {
    it('answers 503, not 401, while the key server fails', async () => {
      const jwks = await serveJwks([], 500);
      const s = await startServer(store, { auth: { jwks_url: jwks.url } });
      try {
        const pair = await generateKeyPair('RS256');
        const token = await sign({ alg: 'RS256', key: pair.privateKey, kid: 'k' });
        const res = await s.request('GET', '/v1/agents', { key: token });
        assert.equal(res.status, 503, res.text);
        assert.equal(res.body.error.code, 'unavailable');
        assert.ok(res.headers.get('retry-after'));
        assert.ok(jwks.hits() >= 1);
      } finally {
        await s.close();
        await jwks.close();
      }
    });
  });
}
