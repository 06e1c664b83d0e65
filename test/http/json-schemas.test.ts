import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.ts';

/** POST /v1/json-schemas/check: the rules every route that takes a JSON Schema holds it to, on their own. */
describe('JSON Schema check', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite');
  });
  after(() => s.close());

  const check = (schema: unknown, key?: string | null) =>
    s.request('POST', '/v1/json-schemas/check', { body: { schema }, ...(key !== undefined && { key }) });

  it('accepts a schema every such route would take, draft-07 or 2020-12', async () => {
    for (const schema of [
      { type: 'object', properties: { ok: { type: 'boolean' } } },
      { $schema: 'https://json-schema.org/draft/2020-12/schema', prefixItems: [{ type: 'string' }] },
    ]) {
      const r = await check(schema);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body, { ok: true });
    }
  });

  it('refuses one out of bounds with the keyword’s path, as an agent’s answer format would be', async () => {
    const schema = { type: 'array', items: { type: 'string', minLength: 200_000 } };
    const r = await check(schema);
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'validation_error');
    assert.deepEqual(
      r.body.error.details.map((d: { path: string }) => d.path),
      ['schema.items.minLength'],
    );
    const agent = await s.request('POST', '/v1/agents', {
      body: { name: 'bounded', response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } },
    });
    assert.equal(agent.status, 400);
    assert.equal(
      agent.body.error.details[0].message,
      r.body.error.details[0].message,
      'the same rule says the same thing',
    );
  });

  it('refuses one that does not compile, at the schema itself', async () => {
    for (const schema of [{ type: 'objekt' }, { type: 'string', pattern: '(?=a)' }]) {
      const r = await check(schema);
      assert.equal(r.status, 400, JSON.stringify(schema));
      assert.equal(r.body.error.details[0].path, 'schema');
      assert.match(r.body.error.details[0].message, /^not a usable JSON Schema/);
    }
  });

  it('needs a key, and a body that is a schema', async () => {
    assert.equal((await check({ type: 'object' }, null)).status, 401);
    const r = await s.request('POST', '/v1/json-schemas/check', { body: { schema: [1] } });
    assert.equal(r.status, 400);
  });
});
