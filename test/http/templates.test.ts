import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createKey, createTenant, journalFor } from '../auth/fixtures.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

/** The built-in templates as the product promises them. */
const builtins = {
  'basic-assistant': {
    tools: ['read_file', 'write_file', 'edit_file', 'bash_execute', 'glob_files'],
    skills: ['filesystem', 'code'],
    mode: 'COLLABORATIVE',
  },
  researcher: {
    tools: ['web_search', 'web_crawl', 'read_file', 'write_file'],
    skills: ['web'],
    mode: 'COLLABORATIVE',
  },
};

/** The operations team's templates: read-only analysts that change nothing without approval. */
const opsTeam = ['lumina', 'sam', 'eivor', 'oracle', 'connor', 'aegis'].map((n) => `ops-${n}`);
const builtinIds = [...Object.keys(builtins), ...opsTeam];

const full = {
  name: 'Support triage',
  description: 'Sorts incoming tickets',
  model: 'openai/gpt-4o-mini',
  system_prompt: 'Triage politely.\n✓',
  tools: ['read_file'],
  skills: ['support'],
  mode: 'REACTIVE',
  env: 'pool',
  task_types: [{ name: 'triage', description: 'Sort one ticket', input_schema: { type: 'object' } }],
  metadata: { team: 'support', n: [1, 2] },
};

for (const store of stores) {
  describe(`templates API on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store);
    });
    after(() => s.close());

    it('lists exactly the built-in templates to anyone, without credentials', async () => {
      const res = await s.request('GET', '/v1/templates', { key: null });
      assert.equal(res.status, 200);
      assert.deepEqual(
        res.body.data.map((t: { id: string }) => t.id),
        builtinIds,
      );
      for (const t of res.body.data) {
        const promised = builtins[t.id as keyof typeof builtins];
        if (promised) {
          assert.deepEqual(t.tools, promised.tools, `${t.id} tools`);
          assert.deepEqual(t.skills, promised.skills, `${t.id} skills`);
        } else assert.ok(t.task_types.length >= 2, `${t.id} declares its task types`);
        assert.equal(t.mode, promised?.mode ?? 'COLLABORATIVE', `${t.id} mode`);
        assert.equal(t.builtin, true);
        assert.ok(t.system_prompt.length > 0);
      }
      const one = await s.request('GET', '/v1/templates/researcher', { key: null });
      assert.equal(one.status, 200);
      assert.deepEqual(one.body.tools, builtins.researcher.tools);
      const missing = await s.request('GET', '/v1/templates/no-such', { key: null });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, 'not_found');
    });

    it('creates a tenant template (admin), round-tripping every field, and journals it', async () => {
      const res = await s.request('POST', '/v1/templates', { body: full });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.builtin, false);
      assert.equal(res.body.version, 1);
      const got = await s.request('GET', `/v1/templates/${res.body.id}`);
      assert.equal(got.status, 200);
      for (const [k, v] of Object.entries(full)) assert.deepEqual(got.body[k], v, `field ${k}`);
      const [row] = await journalFor(s, res.body.id);
      assert.equal(row?.action, 'template.create');
      assert.equal(row?.tenant_id, s.app.defaultTenantId);
    });

    it('shows tenant templates only to their tenant, never on the public listing', async () => {
      const mine = await s.request('POST', '/v1/templates', { body: { name: 'private-tpl' } });
      assert.equal(mine.status, 201);
      const publicList = await s.request('GET', '/v1/templates', { key: null });
      assert.ok(publicList.body.data.every((t: { builtin: boolean }) => t.builtin));
      assert.equal((await s.request('GET', `/v1/templates/${mine.body.id}`, { key: null })).status, 404);

      const ownList = await s.request('GET', '/v1/templates');
      assert.ok(ownList.body.data.some((t: { id: string }) => t.id === mine.body.id));
      const reader = await createKey(s, ['read']);
      const readerList = await s.request('GET', '/v1/templates', { key: reader.secret });
      assert.ok(
        readerList.body.data.some((t: { id: string }) => t.id === mine.body.id),
        'read keys see them',
      );

      const other = await createTenant(s, 'tpl-other');
      const otherList = await s.request('GET', '/v1/templates', { key: other.adminKey });
      assert.deepEqual(
        otherList.body.data.map((t: { id: string }) => t.id),
        builtinIds,
      );
      const otherGet = await s.request('GET', `/v1/templates/${mine.body.id}`, { key: other.adminKey });
      assert.equal(otherGet.status, 404);
      const otherPatch = await s.request('PATCH', `/v1/templates/${mine.body.id}`, {
        key: other.adminKey,
        body: { name: 'hijacked' },
      });
      assert.equal(otherPatch.status, 404);
      const otherDelete = await s.request('DELETE', `/v1/templates/${mine.body.id}`, { key: other.adminKey });
      assert.equal(otherDelete.status, 404);
      const otherAgent = await s.request('POST', '/v1/agents', {
        key: other.adminKey,
        body: { name: 'borrower', template_id: mine.body.id },
      });
      assert.equal(otherAgent.status, 404, 'another tenant cannot build from it either');
      const still = await s.request('GET', `/v1/templates/${mine.body.id}`);
      assert.equal(still.body.name, 'private-tpl');
      assert.equal(still.body.version, 1);
    });

    it('keeps template changes to admins: write and read keys get 403', async () => {
      const tpl = await s.request('POST', '/v1/templates', { body: { name: 'guarded' } });
      for (const scope of ['read', 'write'] as const) {
        const { secret } = await createKey(s, [scope]);
        assert.equal(
          (await s.request('POST', '/v1/templates', { key: secret, body: { name: 'x' } })).status,
          403,
        );
        const patch = await s.request('PATCH', `/v1/templates/${tpl.body.id}`, {
          key: secret,
          body: { name: 'x' },
        });
        assert.equal(patch.status, 403);
        assert.equal(
          (await s.request('DELETE', `/v1/templates/${tpl.body.id}`, { key: secret })).status,
          403,
        );
      }
      const after = await s.request('GET', `/v1/templates/${tpl.body.id}`);
      assert.equal(after.body.name, 'guarded');
    });

    it('patches only the fields sent, bumps the version, and rejects unknown fields', async () => {
      const { body: tpl } = await s.request('POST', '/v1/templates', { body: full });
      const patched = await s.request('PATCH', `/v1/templates/${tpl.id}`, {
        body: { description: 'new words', tools: [] },
      });
      assert.equal(patched.status, 200, patched.text);
      assert.equal(patched.body.description, 'new words');
      assert.deepEqual(patched.body.tools, []);
      assert.equal(patched.body.env, 'pool');
      assert.deepEqual(patched.body.task_types, full.task_types);
      assert.equal(patched.body.version, 2);
      const bad = await s.request('PATCH', `/v1/templates/${tpl.id}`, {
        body: { description: 'x', shape: 'round' },
      });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /shape/);
      const badMode = await s.request('PATCH', `/v1/templates/${tpl.id}`, { body: { mode: 'FRANTIC' } });
      assert.equal(badMode.status, 400);
      const after = await s.request('GET', `/v1/templates/${tpl.id}`);
      assert.equal(after.body.description, 'new words');
      assert.equal(after.body.version, 2);
      const rows = await journalFor(s, tpl.id);
      assert.deepEqual(
        rows.map((r) => r.action),
        ['template.create', 'template.update'],
      );
      assert.deepEqual(rows[1]?.data.fields, ['description', 'tools']);
    });

    it('deletes a tenant template: then 404, gone from the list, journalled', async () => {
      const { body: tpl } = await s.request('POST', '/v1/templates', { body: { name: 'doomed' } });
      assert.equal((await s.request('DELETE', `/v1/templates/${tpl.id}`)).status, 204);
      assert.equal((await s.request('GET', `/v1/templates/${tpl.id}`)).status, 404);
      const list = await s.request('GET', '/v1/templates');
      assert.ok(!list.body.data.some((t: { id: string }) => t.id === tpl.id));
      assert.equal((await s.request('DELETE', `/v1/templates/${tpl.id}`)).status, 404);
      assert.equal((await s.request('DELETE', `/v1/templates/${randomUUID()}`)).status, 404);
      const rows = await journalFor(s, tpl.id);
      assert.equal(rows.at(-1)?.action, 'template.delete');
    });

    it('keeps the built-in templates immutable, even for admins', async () => {
      for (const id of Object.keys(builtins)) {
        const patch = await s.request('PATCH', `/v1/templates/${id}`, { body: { name: 'mine now' } });
        assert.equal(patch.status, 403, patch.text);
        assert.match(patch.body.error.message, /built in/);
        assert.equal((await s.request('DELETE', `/v1/templates/${id}`)).status, 403);
        const got = await s.request('GET', `/v1/templates/${id}`, { key: null });
        assert.notEqual(got.body.name, 'mine now');
      }
    });

    it('validates template bodies', async () => {
      for (const body of [
        {},
        { name: '' },
        { name: 'x', tools: 'read_file' },
        { name: 'x', env: 'mars' },
        { name: 'x', id: 'basic-assistant' },
      ]) {
        const res = await s.request('POST', '/v1/templates', { body });
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.body.error.code, 'validation_error');
      }
    });
  });
}
