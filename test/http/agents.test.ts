import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

const full = {
  name: 'full-agent',
  description: 'every field set',
  model: 'openai/gpt-4o-mini',
  system_prompt: 'You are thorough.\nLine two — with unicode ✓',
  tools: ['read_file', 'calculator'],
  skills: ['code'],
  mode: 'COLLABORATIVE',
  env: 'remote',
  knowledge: ['kb-docs'],
  task_types: [
    {
      name: 'summarize',
      description: 'Summarise a text',
      input_schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
      prompt_template: 'Summarise: {{payload.text}}',
    },
  ],
  handoffs: ['helper'],
  visibility: 'tenant',
  metadata: { owner: 'ops', nested: { n: 1, list: [1, 'two', null] } },
  source: 'generated',
  runtime_url: 'https://runtime.example.com/agent',
  multi_agent_id: null,
  budget: { tokens_per_day: 100_000, tokens_per_month: 2_000_000, cost_per_day: 1.5, cost_per_month: 30 },
};

for (const store of stores) {
  describe(`agents API on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store);
    });
    after(() => s.close());

    it('round-trips every field exactly', async () => {
      const created = await s.request('POST', '/v1/agents', { body: full });
      assert.equal(created.status, 201, created.text);
      const got = await s.request('GET', `/v1/agents/${created.body.id}`);
      assert.equal(got.status, 200);
      for (const [k, v] of Object.entries(full)) assert.deepEqual(got.body[k], v, `field ${k}`);
      assert.equal(got.body.version, 1);
      assert.equal(got.body.template_id, null);
      assert.match(got.body.created_at, /^\d{4}-\d{2}-\d{2}T.*Z$/);
    });

    it('patches only the fields sent, bumps the version, rejects unknown fields by name', async () => {
      const { body: a } = await s.request('POST', '/v1/agents', {
        body: { name: 'patchme', description: 'd1', tools: ['x'] },
      });
      const patched = await s.request('PATCH', `/v1/agents/${a.id}`, { body: { description: 'd2' } });
      assert.equal(patched.status, 200);
      assert.equal(patched.body.description, 'd2');
      assert.deepEqual(patched.body.tools, ['x']);
      assert.equal(patched.body.version, 2);
      const bad = await s.request('PATCH', `/v1/agents/${a.id}`, {
        body: { description: 'd3', colour: 'red', size: 2 },
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'validation_error');
      assert.match(bad.body.error.message, /colour/);
      assert.match(bad.body.error.message, /size/);
      const after = await s.request('GET', `/v1/agents/${a.id}`);
      assert.equal(after.body.description, 'd2', 'a rejected patch changes nothing');
      assert.equal(after.body.version, 2);
    });

    it('deletes: then 404 on get and gone from the list', async () => {
      const { body: a } = await s.request('POST', '/v1/agents', { body: { name: 'doomed' } });
      assert.equal((await s.request('DELETE', `/v1/agents/${a.id}`)).status, 204);
      const got = await s.request('GET', `/v1/agents/${a.id}`);
      assert.equal(got.status, 404);
      assert.equal(got.body.error.code, 'not_found');
      const list = await s.request('GET', '/v1/agents?limit=500');
      assert.ok(!list.body.data.some((x: { id: string }) => x.id === a.id));
      assert.equal((await s.request('DELETE', `/v1/agents/${a.id}`)).status, 404);
    });

    it('lists with pagination and filters by name and source', async () => {
      for (let i = 0; i < 5; i++) await s.request('POST', '/v1/agents', { body: { name: `page-${i}` } });
      const first = await s.request('GET', '/v1/agents?name=page-&limit=2');
      assert.equal(first.status, 200);
      assert.equal(first.body.data.length, 2);
      assert.equal(first.body.total, 5);
      const second = await s.request('GET', '/v1/agents?name=page-&limit=2&offset=2');
      const ids = new Set([...first.body.data, ...second.body.data].map((a: { id: string }) => a.id));
      assert.equal(ids.size, 4, 'pages do not overlap');
      const generated = await s.request('GET', '/v1/agents?source=generated');
      assert.ok(generated.body.data.every((a: { source: string }) => a.source === 'generated'));
      assert.equal((await s.request('GET', '/v1/agents?limit=501')).status, 400);
    });

    it('inherits from a template; only fields actually sent override it', async () => {
      const inherited = await s.request('POST', '/v1/agents', {
        body: { name: 'from-tpl', template_id: 'basic-assistant' },
      });
      assert.equal(inherited.status, 201, inherited.text);
      assert.equal(
        inherited.body.mode,
        'COLLABORATIVE',
        'the schema default REACTIVE must not override the template',
      );
      assert.equal(inherited.body.source, 'template');
      assert.deepEqual(inherited.body.tools, [
        'read_file',
        'write_file',
        'edit_file',
        'bash_execute',
        'glob_files',
      ]);
      assert.deepEqual(inherited.body.skills, ['filesystem', 'code']);

      const tpl = await s.request('POST', '/v1/templates', {
        body: { name: 'pool-tpl', env: 'pool', mode: 'COLLABORATIVE', tools: ['calculator'] },
      });
      assert.equal(tpl.status, 201, tpl.text);
      const fromTenant = await s.request('POST', '/v1/agents', {
        body: { name: 'from-tenant-tpl', template_id: tpl.body.id },
      });
      assert.equal(
        fromTenant.body.env,
        'pool',
        'the schema default in_process must not override the template',
      );
      assert.equal(fromTenant.body.mode, 'COLLABORATIVE');

      const overridden = await s.request('POST', '/v1/agents', {
        body: { name: 'override', template_id: tpl.body.id, mode: 'REACTIVE', env: 'in_process' },
      });
      assert.equal(overridden.body.mode, 'REACTIVE');
      assert.equal(overridden.body.env, 'in_process');
      assert.deepEqual(overridden.body.tools, ['calculator']);

      const missing = await s.request('POST', '/v1/agents', {
        body: { name: 'nope', template_id: 'no-such-template' },
      });
      assert.equal(missing.status, 404);
    });

    it('refuses a duplicate name with 409', async () => {
      await s.request('POST', '/v1/agents', { body: { name: 'twin' } });
      const again = await s.request('POST', '/v1/agents', { body: { name: 'twin' } });
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'conflict');
    });
  });
}
