import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

for (const store of stores) {
  describe(`datasets API on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store);
    });
    after(() => s.close());

    it('creates, pages, renames and deletes a dataset, addressed by id or name', async () => {
      const created = await s.request('POST', '/v1/datasets', {
        body: {
          name: 'greetings',
          description: 'hello cases',
          items: [
            { input: { message: 'hi' }, expected: 'You said: hi', tags: ['short'] },
            { input: { task_type: 'default', payload: { q: 1 } }, metadata: { origin: 'manual' } },
          ],
        },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.item_count, 2);
      const dup = await s.request('POST', '/v1/datasets', { body: { name: 'greetings' } });
      assert.equal(dup.status, 409);
      const byName = await s.request('GET', '/v1/datasets/greetings');
      assert.equal(byName.body.id, created.body.id);
      const items = await s.request('GET', '/v1/datasets/greetings/items?limit=1');
      assert.equal(items.body.total, 2);
      assert.equal(items.body.data.length, 1);
      assert.deepEqual(items.body.data[0].input, { message: 'hi' });
      const tagged = await s.request('GET', '/v1/datasets/greetings/items?tag=short');
      assert.equal(tagged.body.total, 1);
      const renamed = await s.request('PATCH', `/v1/datasets/${created.body.id}`, {
        body: { name: 'greetings-2' },
      });
      assert.equal(renamed.body.name, 'greetings-2');
      const patched = await s.request('PATCH', `/v1/datasets/greetings-2/items/${items.body.data[0].id}`, {
        body: { expected: 'changed' },
      });
      assert.equal(patched.body.expected, 'changed');
      assert.deepEqual(patched.body.input, { message: 'hi' });
      assert.equal((await s.request('DELETE', '/v1/datasets/greetings-2')).status, 204);
      assert.equal((await s.request('GET', '/v1/datasets/greetings-2')).status, 404);
    });

    it('refuses a bad item with a 400, not a 500', async () => {
      const res = await s.request('POST', '/v1/datasets', {
        body: { name: 'bad', items: [{ input: { message: '' } }] },
      });
      assert.equal(res.status, 400);
      assert.ok(res.body.error.code);
      const badName = await s.request('POST', '/v1/datasets', { body: { name: '../x' } });
      assert.equal(badName.status, 400);
    });

    it('imports thousands of JSONL lines in one request, naming each bad line, and exports them back', async () => {
      await s.request('POST', '/v1/datasets', { body: { name: 'bulk' } });
      const lines = [];
      for (let i = 0; i < 3000; i++)
        lines.push(JSON.stringify({ input: { message: `q${i}` }, expected: `a${i}` }));
      lines.splice(10, 0, '{not json');
      lines.splice(20, 0, JSON.stringify({ input: { nope: 1 } }));
      const res = await s.request('POST', '/v1/datasets/bulk/import', {
        body: lines.join('\n'),
        headers: { 'content-type': 'application/x-ndjson' },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.imported, 3000);
      assert.deepEqual(
        res.body.errors.map((e: { line: number }) => e.line),
        [11, 21],
      );
      assert.match(res.body.errors[0].message, /not JSON/);
      const exported = await s.request('GET', '/v1/datasets/bulk/export');
      assert.equal(exported.status, 200);
      assert.match(exported.headers.get('content-type') ?? '', /ndjson/);
      const out = exported.text.trim().split('\n');
      assert.equal(out.length, 3000);
      assert.deepEqual(JSON.parse(out[0]!).input, { message: 'q0' });
      // What export writes, import takes.
      await s.request('POST', '/v1/datasets', { body: { name: 'bulk-copy' } });
      const again = await s.request('POST', '/v1/datasets/bulk-copy/import', {
        body: exported.text,
        headers: { 'content-type': 'application/x-ndjson' },
      });
      assert.equal(again.body.imported, 3000);
    });

    it('imports CSV with quoted fields, naming bad rows by their line', async () => {
      await s.request('POST', '/v1/datasets', { body: { name: 'csv' } });
      const csv = [
        'message,expected,tags',
        '"hello, world","You said: hello, world",a|b',
        '"two',
        'lines",x,',
        'only-one-field',
        ',empty message,',
      ].join('\n');
      const res = await s.request('POST', '/v1/datasets/csv/import', {
        body: csv,
        headers: { 'content-type': 'text/csv' },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.imported, 2);
      assert.deepEqual(
        res.body.errors.map((e: { line: number }) => e.line),
        [5, 6],
      );
      const items = await s.request('GET', '/v1/datasets/csv/items');
      assert.deepEqual(items.body.data[0].input, { message: 'hello, world' });
      assert.deepEqual(items.body.data[0].tags, ['a', 'b']);
      assert.deepEqual(items.body.data[1].input, { message: 'two\nlines' });
      const unknown = await s.request('POST', '/v1/datasets/csv/import', {
        body: 'question,answer\nq,a',
        headers: { 'content-type': 'text/csv' },
      });
      assert.equal(unknown.body.imported, 0);
      assert.equal(unknown.body.errors[0].line, 1);
    });

    it('adds a recorded run as an item, its output as the expected output', async () => {
      const agent = await s.request('POST', '/v1/agents', { body: { name: 'echo', model: 'mock/default' } });
      assert.equal(agent.status, 201, agent.text);
      const chat = await s.request('POST', `/v1/agents/${agent.body.id}/chat`, {
        body: { message: 'remember me', stream: false },
      });
      assert.equal(chat.status, 200, chat.text);
      await s.request('POST', '/v1/datasets', { body: { name: 'from-runs' } });
      const item = await s.request('POST', '/v1/datasets/from-runs/items/from-run', {
        body: { run_id: chat.body.run_id, tags: ['prod'] },
      });
      assert.equal(item.status, 201, item.text);
      assert.deepEqual(item.body.input, { message: 'remember me' });
      assert.equal(item.body.expected, 'You said: remember me');
      assert.equal(item.body.source_run_id, chat.body.run_id);
      const missing = await s.request('POST', '/v1/datasets/from-runs/items/from-run', {
        body: { run_id: '01900000-0000-7000-8000-000000000000' },
      });
      assert.equal(missing.status, 404);
    });
  });
}
