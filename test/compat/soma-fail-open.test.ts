/**
 * SomaAgent01's tenant policy (somaagent01.md): "Budgets, routing allowlists, and fail-open
 * behaviour can now be managed via `conf/tenants.yaml`. Each tenant block supports `fail_open`,
 * optional per-persona `budgets`, and routing `allow`/`deny` lists." `fail_open: false` covers
 * budgets as it does rate limits: a budget that cannot be checked refuses the call (503), never
 * serves it unmetered. Budgets are counted in the database, so Redis being down leaves them checked.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTenant } from '../auth/fixtures.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

const ask = { model: 'mock/default', max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] };

for (const store of stores) {
  describe(`fail_open: false covers budgets (${store})`, () => {
    let s: TestServer;
    let dir = '';
    let file = '';
    const policy = (budgets: string) =>
      [
        'tenants:',
        '  soma-strict:',
        '    fail_open: false',
        `    budgets: ${budgets}`,
        '  soma-open:',
        '    fail_open: true',
        `    budgets: ${budgets}`,
        '',
      ].join('\n');
    const chat = (key: string) => s.request('POST', '/v1/chat/completions', { body: ask, key });

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'agentry-soma-budgets-'));
      file = path.join(dir, 'tenants.yaml');
      writeFileSync(file, policy('{}'));
      // Nothing listens on port 1: every Redis command fails at once.
      s = await startServer(store, { redis_url: 'redis://127.0.0.1:1', tenants_file: file });
    });
    after(async () => {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('with Redis down, a strict tenant with only budgets is still metered: served, then 429 once spent', async () => {
      const tenant = await createTenant(s, 'soma-strict');
      const first = await chat(tenant.adminKey);
      assert.equal(first.status, 200, first.text);
      const perCall: number = first.body.usage.total_tokens;
      // Room for two more calls of this size, counted from now on (the counters start at 0 today).
      writeFileSync(file, policy(`{ tokens_per_day: ${perCall * 2} }`));
      s.app.services.policies.reload();
      const codes: number[] = [];
      for (let i = 0; i < 6; i++) codes.push((await chat(tenant.adminKey)).status);
      assert.deepEqual(codes, [200, 200, 429, 429, 429, 429]);
      const refused = await chat(tenant.adminKey);
      assert.match(refused.body.error.message, /tenant soma-strict budget tokens_per_day exceeded/);
    });

    it('with the budget store unreachable, a strict tenant is refused with 503 and a fail_open one served', async () => {
      writeFileSync(file, policy('{ tokens_per_day: 100000 }'));
      s.app.services.policies.reload();
      // Fresh tenants: no allotment of their budget is held in this process yet, so the call must
      // reach the counters' table, which is made unreachable.
      const strict = await createTenant(s, 'soma-strict-2');
      const open = await createTenant(s, 'soma-open');
      writeFileSync(file, policy('{ tokens_per_day: 100000 }').replace('soma-strict:', 'soma-strict-2:'));
      s.app.services.policies.reload();
      const { db } = s.app;
      await db.query('alter table limit_counters rename to limit_counters_away');
      try {
        const refused = await chat(strict.adminKey);
        assert.equal(refused.status, 503, refused.text);
        assert.equal(refused.body.error.code, 'store_unavailable');
        assert.match(refused.body.error.message, /budget and rate-limit store cannot be reached/);
        assert.ok(refused.headers.get('retry-after'));
        const served = await chat(open.adminKey);
        assert.equal(served.status, 200, served.text);
      } finally {
        await db.query('alter table limit_counters_away rename to limit_counters');
      }
      assert.equal((await chat(strict.adminKey)).status, 200, 'served again once the store is back');
    });
  });
}
