/**
 * The earlier systems' families as a deployment sees them: each family's routes are in the OpenAPI
 * document under its own tag, and a family switched off in config (`compat.<family>: false`) serves
 * none of its routes while the others stay. Outside dev mode, isA's `user-id` header is no
 * credential.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RouteOptions } from 'fastify';
import { compatFamilies as families } from '../../src/config/compat-config.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

const allOn = Object.fromEntries(families.map((f) => [f, true]));

/** `/api/v1/agents/configs/:id` → `/api/v1/agents/configs/{id}` */
const openApiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

/** The compat routes of a server, with the family their tag names. */
function compatRoutes(s: TestServer) {
  return s.app.http.routeTable
    .flatMap((r: RouteOptions) => {
      const tag = ((r.schema as { tags?: string[] } | undefined)?.tags ?? []).find((t) =>
        t.startsWith('compat: '),
      );
      if (!tag || r.method === 'HEAD') return [];
      return [
        [r.method].flat().map((method) => ({ method, url: r.url, family: tag.slice('compat: '.length) })),
      ];
    })
    .flat();
}

describe('compatibility families', () => {
  let on: TestServer;
  let off: TestServer;
  before(async () => {
    on = await startServer('pglite', { compat: allOn });
    off = await startServer('pglite', { compat: { ...allOn, zahara: false, zora: false } });
  });
  after(async () => {
    await on.close();
    await off.close();
  });

  it('documents every route of each family in the OpenAPI document under its own tag', async () => {
    const doc = (await on.request('GET', '/openapi.json', { key: null })).body;
    const routes = compatRoutes(on);
    assert.deepEqual([...new Set(routes.map((r) => r.family))].sort(), [...families].sort());
    for (const { method, url, family } of routes) {
      const op = doc.paths[openApiPath(url)]?.[method.toLowerCase()];
      assert.ok(op, `${method} ${url} is in the document`);
      assert.deepEqual(op.tags, [`compat: ${family}`], `${method} ${url} is tagged with its family`);
      assert.ok(op.summary, `${method} ${url} has a summary`);
    }
    for (const [family, path] of [
      ['isa', '/api/v1/pools/{type}/{instance_id}/execute'],
      ['soma', '/v1/delegation/task/{task_id}'],
      ['zahara', '/execute'],
      ['pagi', '/api/v1/execute_tool'],
      ['zora', '/api/agents/tasks/{id}'],
    ] as const) {
      const ops = Object.values(doc.paths[path] ?? {}) as Array<{ tags?: string[] }>;
      assert.ok(ops.length > 0, `${path} is documented`);
      for (const op of ops) assert.deepEqual(op.tags, [`compat: ${family}`], path);
    }
  });

  it('serves no route of a family switched off, and keeps the others', async () => {
    const families = new Set(compatRoutes(off).map((r) => r.family));
    assert.deepEqual([...families].sort(), ['isa', 'pagi', 'soma']);
    const doc = (await off.request('GET', '/openapi.json', { key: null })).body;
    assert.equal(doc.paths['/execute'], undefined);
    assert.equal(doc.paths['/api/agents/tasks'], undefined);

    const execute = await off.request('POST', '/execute', { body: { task: 'hi' } });
    assert.equal(execute.status, 404, execute.text);
    const tasks = await off.request('GET', '/api/agents/tasks');
    assert.equal(tasks.status, 404, tasks.text);
    const plan = await off.request('POST', '/api/v1/plan', { body: { prompt: 'hi' } });
    assert.equal(plan.status, 200, plan.text);
    assert.equal((await on.request('GET', '/api/agents/tasks')).status, 200);
  });

  it("takes isA's user-id header for no one outside dev mode", async () => {
    for (const path of ['/api/v1/agents/configs', '/api/agents/tasks']) {
      const res = await on.request('GET', path, { key: null, headers: { 'user-id': 'test-user' } });
      assert.equal(res.status, 401, `${path}: ${res.text}`);
    }
    const made = await on.request('POST', '/api/v1/agents/configs', {
      key: null,
      headers: { 'user-id': 'test-user' },
      body: { name: 'Sneaky', env: 'cloud_pool' },
    });
    assert.equal(made.status, 401, made.text);
  });
});
