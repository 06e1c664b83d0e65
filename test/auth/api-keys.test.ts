import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type App, createApp } from '../../src/app.ts';
import { ApiKeyService } from '../../src/auth/api-keys.ts';
import { testConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { eventually } from '../helpers/eventually.ts';
import { freshDatabase, startServer, stores, type TestServer } from '../helpers/server.ts';
import { createKey } from './fixtures.ts';

/** Every text value in every table of the store, one string per row, to search for secrets in. */
async function everyRow(s: TestServer): Promise<string[]> {
  const db = s.app.db;
  const tables = await db.query<{ name: string }>(
    `select table_name as name from information_schema.tables
     where table_schema = 'public' and table_type = 'BASE TABLE'`,
  );
  assert.ok(tables.some((t) => t.name === 'api_keys'));
  const rows: string[] = [];
  for (const { name } of tables) {
    // Table names come from the catalogue, quoted as identifiers: nothing here is user input.
    const found = await db.query<{ row: string }>(`select row_to_json(t)::text as row from "${name}" t`);
    rows.push(...found.map((r) => r.row));
  }
  return rows;
}

for (const store of stores) {
  describe(`API keys on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store);
    });
    after(() => s.close());

    it('hands out a random secret with a visible prefix, once', async () => {
      const a = await createKey(s, ['read']);
      const b = await createKey(s, ['read']);
      assert.match(a.secret, /^agk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
      assert.ok(a.secret.startsWith(`${a.prefix}_`), 'the prefix is the visible start of the secret');
      assert.notEqual(a.prefix, b.prefix);
      assert.notEqual(a.secret.slice(a.prefix.length), b.secret.slice(b.prefix.length));
      const list = await s.request('GET', '/v1/keys');
      const listed = list.body.data.find((k: { id: string }) => k.id === a.id);
      assert.equal(listed.prefix, a.prefix);
      assert.ok(!('secret' in listed) && !('hash' in listed), 'listing shows neither secret nor hash');
      assert.ok(!list.text.includes(a.secret.slice(a.prefix.length + 1)));
    });

    it('stores only a hash: no table of the store holds any secret, including the first admin key', async () => {
      const made = await createKey(s, ['write', 'write', 'read']);
      const rows = await everyRow(s);
      for (const secret of [made.secret, s.adminKey]) {
        const secretPart = /^agk_[0-9a-f]+_(.+)$/.exec(secret)![1]!;
        assert.equal(secretPart.length, 43);
        const leaks = rows.filter((r) => r.includes(secret) || r.includes(secretPart));
        assert.deepEqual(leaks, [], 'a row holds the secret');
      }
      const [row] = await s.app.db.query<{ hash: string; scopes: string[] }>(
        'select hash, scopes from api_keys where id = $1',
        [made.id],
      );
      assert.match(row!.hash, /^[0-9a-f]{64}$/);
      assert.deepEqual([...row!.scopes].sort(), ['read', 'write'], 'repeated scopes are stored once');
    });

    it('refuses a revoked key at once in the revoking process, even while it is cached', async () => {
      const k = await createKey(s, ['read']);
      // Used twice first: the second use is served from the verification cache.
      assert.equal((await s.request('GET', '/v1/agents', { key: k.secret })).status, 200);
      assert.equal((await s.request('GET', '/v1/agents', { key: k.secret })).status, 200);
      const revoked = await s.request('POST', `/v1/keys/${k.id}/revoke`);
      assert.equal(revoked.status, 200, revoked.text);
      assert.ok(revoked.body.revoked_at);
      const after = await s.request('GET', '/v1/agents', { key: k.secret });
      assert.equal(after.status, 401);
      assert.match(after.body.error.message, /revoked/);
      const viaHeader = await s.request('GET', '/v1/agents', {
        key: null,
        headers: { 'x-api-key': k.secret },
      });
      assert.equal(viaHeader.status, 401);
    });

    it('refuses a key revoked while its verification was in flight', async () => {
      // A verification that read the row just before the revocation must not leave a cache entry
      // that outlives it. The look-up is held open with a gate so the interleaving is certain.
      const db = s.app.db;
      let gate: Promise<void> | undefined;
      let atGate!: () => void;
      const reached = new Promise<void>((resolve) => {
        atGate = resolve;
      });
      const gated = new Proxy(db, {
        get(target, prop) {
          if (prop === 'query') {
            return async (sql: string, params?: unknown[]) => {
              const rows = await target.query(sql, params);
              if (gate && sql.includes('k.prefix')) {
                atGate();
                await gate;
              }
              return rows;
            };
          }
          const value = Reflect.get(target, prop);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const keys = new ApiKeyService(gated, 60_000);
      const who = { tenantId: s.app.defaultTenantId, actor: 'test' };
      const { key, secret } = await keys.create(s.app.defaultTenantId, { scopes: ['read'] }, who);
      let release!: () => void;
      gate = new Promise((resolve) => {
        release = resolve;
      });
      const inFlight = keys.verify(secret);
      await reached; // it has read the row, still valid

      await keys.revoke(s.app.defaultTenantId, key.id, who);
      release();
      // It read the row before the revocation; it may finish either way, but must not be remembered.
      await inFlight.catch(() => undefined);
      gate = undefined;
      await assert.rejects(keys.verify(secret), /revoked/);
    });

    /** The app's store, with its key look-ups counted and, while `hold` is set, held open until it settles. */
    const watchedStore = () => {
      const db = s.app.db;
      const state = { lookups: 0, hold: undefined as Promise<void> | undefined };
      const store = new Proxy(db, {
        get(target, prop) {
          if (prop === 'query') {
            return async (sql: string, params?: unknown[]) => {
              if (sql.includes('k.prefix')) {
                state.lookups += 1;
                if (state.hold) await state.hold;
              }
              return target.query(sql, params);
            };
          }
          const value = Reflect.get(target, prop);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      return { store, state };
    };
    const who = () => ({ tenantId: s.app.defaultTenantId, actor: 'test' });

    it('verifies concurrent uses of an uncached key with one look-up', async () => {
      const { store, state } = watchedStore();
      const keys = new ApiKeyService(store, 60_000);
      const { key, secret } = await keys.create(s.app.defaultTenantId, { scopes: ['read'] }, who());
      const verified = await Promise.all(Array.from({ length: 20 }, () => keys.verify(secret)));
      assert.equal(state.lookups, 1);
      assert.ok(verified.every((v) => v.keyId === key.id));
      await assert.rejects(
        Promise.all([keys.verify(`${secret.slice(0, -1)}A`), keys.verify(`${secret.slice(0, -1)}B`)]),
        /invalid API key/,
      );
    });

    it('renews a key in use in the background: no request waits on the store, a revocation is still seen', async () => {
      const { store, state } = watchedStore();
      // Past half of the 2 s cache life, a use triggers the renewal; the margins leave a loaded
      // machine a second either way (ordering, not a speed measure).
      const keys = new ApiKeyService(store, 2000);
      const { key, secret } = await keys.create(s.app.defaultTenantId, { scopes: ['read'] }, who());
      await keys.verify(secret);
      assert.equal(state.lookups, 1);
      let release!: () => void;
      state.hold = new Promise((resolve) => {
        release = resolve;
      });
      // Uses until one is past half the cache life and starts the renewal, held open in the store;
      // every use is served from the cache meanwhile.
      await eventually(
        async () => {
          assert.equal((await keys.verify(secret)).keyId, key.id);
          return state.lookups === 2 || undefined;
        },
        15_000,
        'the background renewal',
      );
      assert.equal((await keys.verify(secret)).keyId, key.id);
      assert.equal(state.lookups, 2, 'one renewal for the uses while it is in flight');
      // Another process revokes it; the held renewal reads the row after that and drops the entry.
      await s.app.db.query('update api_keys set revoked_at = now() where id = $1', [key.id]);
      release();
      state.hold = undefined;
      const refused = await eventually(
        () =>
          keys.verify(secret).then(
            () => undefined,
            (err: Error) => err,
          ),
        15_000,
        'the renewal to drop the revoked key',
      );
      assert.match(refused.message, /revoked/);
    });

    it('enforces the scopes it was given', async () => {
      const read = await createKey(s, ['read']);
      const write = await createKey(s, ['write']);
      assert.equal(
        (await s.request('POST', '/v1/agents', { key: read.secret, body: { name: 'r' } })).status,
        403,
      );
      const made = await s.request('POST', '/v1/agents', { key: write.secret, body: { name: 'w' } });
      assert.equal(made.status, 201);
      assert.equal(
        (await s.request('POST', '/v1/keys', { key: write.secret, body: { scopes: ['read'] } })).status,
        403,
      );
      assert.equal((await s.request('GET', '/v1/keys', { key: write.secret })).status, 403);
    });
  });
}

describe('API key revocation across processes', {
  skip: !process.env.DATABASE_URL && 'needs DATABASE_URL',
}, () => {
  let drop: () => Promise<void>;
  let a: App;
  let b: App;
  let urlA: string;
  let urlB: string;

  before(async () => {
    const db = await freshDatabase();
    drop = db.drop;
    const config = testConfig({ log_level: 'silent', store: { database_url: db.url, pool_max: 3 } });
    const log = createLogger('silent');
    a = await createApp(config, { log });
    b = await createApp(config, { log });
    urlA = await a.http.listen({ host: '127.0.0.1', port: 0 });
    urlB = await b.http.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await drop?.();
  });

  const get = async (url: string, key: string) =>
    (await fetch(`${url}/v1/agents`, { headers: { authorization: `Bearer ${key}` } })).status;

  it('bootstraps one admin key for two instances on one database', () => {
    assert.ok(a.adminKey, 'the first instance created the admin key');
    assert.equal(b.adminKey, undefined, 'the second found it there');
    assert.equal(a.defaultTenantId, b.defaultTenantId);
  });

  it('takes effect at once where revoked and within the cache window in the other instance', async () => {
    const made = await fetch(`${urlA}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scopes: ['read'] }),
    });
    const key = (await made.json()) as { id: string; secret: string };
    // Both instances verify and cache it.
    assert.equal(await get(urlA, key.secret), 200);
    assert.equal(await get(urlB, key.secret), 200);

    const revoke = await fetch(`${urlA}/v1/keys/${key.id}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.adminKey}` },
    });
    assert.equal(revoke.status, 200);
    assert.equal(await get(urlA, key.secret), 401, 'the revoking instance refuses it at once');

    // The other instance may trust its cache for key_cache_ms (1 s by default). The deadline is a
    // generous correctness bound for a loaded machine, not a measure of speed.
    await eventually(
      async () => ((await get(urlB, key.secret)) === 401 ? true : undefined),
      15_000,
      'the other instance to refuse the revoked key once its cache entry expires',
    );
  });
});
