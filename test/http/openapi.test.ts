import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { RouteOptions } from 'fastify';
import { startServer, type TestServer } from '../helpers/server.ts';
import { requireCommand } from '../helpers/system-deps.ts';

/** `/v1/agents/:id` → `/v1/agents/{id}` */
const openApiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

/** The keys of a zod object schema, when the schema is one. */
const keysOf = (schema: unknown): string[] | undefined => {
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape).sort() : undefined;
};

describe('OpenAPI document and docs page', () => {
  let s: TestServer;
  // biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is arbitrary JSON
  let doc: any;
  before(async () => {
    s = await startServer('pglite');
    const res = await s.request('GET', '/openapi.json', { key: null });
    assert.equal(res.status, 200, 'public: no credentials needed');
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    doc = res.body;
  });
  after(() => s.close());

  it('is a valid OpenAPI 3 document', async () => {
    assert.match(doc.openapi, /^3\./);
    await SwaggerParser.validate(structuredClone(doc));
  });

  it('documents every /v1 route with its request schema', () => {
    const routes = s.app.http.routeTable.filter(
      (r: RouteOptions) => r.url.startsWith('/v1/') && r.method !== 'HEAD',
    );
    assert.ok(routes.length >= 15, `expected the /v1 routes, found ${routes.length}`);
    for (const route of routes) {
      for (const method of [route.method].flat()) {
        const where = `${method} ${route.url}`;
        const op = doc.paths[openApiPath(route.url)]?.[method.toLowerCase()];
        assert.ok(op, `${where} is in the document`);
        assert.ok(op.summary, `${where} has a summary`);
        const schema = route.schema ?? {};
        if (schema.body) {
          const body = op.requestBody?.content?.['application/json']?.schema;
          assert.ok(body, `${where} documents its request body`);
          const keys = keysOf(schema.body);
          if (keys) assert.deepEqual(Object.keys(body.properties ?? {}).sort(), keys, `${where} body fields`);
        }
        const params = (op.parameters ?? []) as Array<{ in: string; name: string }>;
        const named = (where: string) =>
          params
            .filter((p) => p.in === where)
            .map((p) => p.name)
            .sort();
        const pathKeys = keysOf(schema.params) ?? [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1]!).sort();
        assert.deepEqual(named('path'), pathKeys, `${where} path parameters`);
        const queryKeys = keysOf(schema.querystring);
        if (queryKeys) assert.deepEqual(named('query'), queryKeys, `${where} query parameters`);
      }
    }
  });

  it('describes the error format and marks the public operations', () => {
    const get = doc.paths['/v1/agents/{id}'].get;
    const err = get.responses['404'].content['application/json'].schema;
    assert.deepEqual(Object.keys(err.properties).sort(), ['error', 'request_id']);
    assert.deepEqual(doc.paths['/health'].get.security, []);
    assert.ok(doc.components.securitySchemes.bearer);
  });

  it('serves the docs page and every asset it references, without credentials', async () => {
    const page = await fetch(`${s.url}/docs`, { redirect: 'follow' });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')), html);
    const expected: Record<string, RegExp> = {
      '.js': /javascript/,
      '.css': /^text\/css/,
      '.png': /^image\/png/,
    };
    for (const asset of assets) {
      const res = await fetch(new URL(asset, page.url));
      assert.equal(res.status, 200, asset);
      const body = await res.arrayBuffer();
      assert.ok(body.byteLength > 0, `${asset} is not empty`);
      const type = expected[path.extname(asset)];
      if (type) assert.match(res.headers.get('content-type') ?? '', type, asset);
    }
    // The page loads its document from ./json next to it: the same API.
    const json = await fetch(`${s.url}/docs/json`);
    assert.equal(json.status, 200);
    const served = (await json.json()) as { paths: Record<string, unknown> };
    assert.deepEqual(Object.keys(served.paths).sort(), Object.keys(doc.paths).sort());
  });

  it('renders the API operations in a real browser', async () => {
    const chromium = requireCommand('chromium');
    const profile = mkdtempSync(path.join(tmpdir(), 'agentry-chromium-'));
    try {
      const dom = await new Promise<string>((resolve, reject) => {
        const child = spawn(
          chromium,
          [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-dev-shm-usage',
            `--user-data-dir=${profile}`,
            // Swagger UI renders the operations that are in view: a tall window holds the first tags.
            '--window-size=1280,12000',
            '--virtual-time-budget=15000',
            '--dump-dom',
            `${s.url}/docs`,
          ],
          { stdio: ['ignore', 'pipe', 'ignore'] },
        );
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
        });
        // A browser that hangs must not hang the suite.
        const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
        child.on('error', reject);
        child.on('close', () => {
          clearTimeout(killer);
          resolve(out);
        });
      });
      assert.match(dom, /class="[^"]*opblock/, 'Swagger UI rendered operation blocks');
      assert.ok(dom.includes('/v1/agents/{id}'), 'the agents operations are listed');
      assert.ok(dom.includes('Agentry API'), 'the document title is shown');
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
