import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { RouteOptions } from 'fastify';
import { docsCsp } from '../../src/http/docs-page.ts';
import { collectPageErrors, launchBrowser } from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

/**
 * `redocly lint` of a document, with the repository's redocly.yaml (the recommended rules, operation
 * ids required); its findings as JSON. Telemetry and update checks off: the tests reach no network.
 */
async function redoclyLint(file: string) {
  const bin = fileURLToPath(new URL('bin/cli.js', import.meta.resolve('@redocly/cli/package.json')));
  const args = [bin, 'lint', file, '--config', path.join(root, 'redocly.yaml'), '--format=json'];
  const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
  // It exits 1 when there are errors; the JSON on stdout says which.
  const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: root, env }).catch(
    (err: { stdout?: string; stderr?: string }) => {
      if (!err.stdout) assert.fail(`redocly lint: ${err.stderr}`);
      return { stdout: err.stdout };
    },
  );
  return JSON.parse(stdout) as {
    totals: { errors: number; warnings: number };
    problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
  };
}

/** `/v1/agents/:id` → `/v1/agents/{id}` */
const openApiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}').replace(/\/\*$/, '/{id}');

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

  it('comes from plugins that each carry a name', () => {
    // A plugin without one costs Fastify a search of every loaded module's exports at each start,
    // and avvio names it by its first lines of source (the " -- " between them).
    const unnamed = s.app.http
      .printPlugins()
      .split('\n')
      .filter((line) => line.includes(' -- '));
    assert.deepEqual(unnamed, []);
  });

  it('is a valid OpenAPI 3 document', async () => {
    assert.match(doc.openapi, /^3\./);
    await SwaggerParser.validate(structuredClone(doc));
  });

  it("passes Redocly's recommended rules at 0 errors, every operation named, with its success and errors", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'agentry-openapi-'));
    try {
      const file = path.join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(doc));
      const report = await redoclyLint(file);
      const errors = report.problems
        .filter((p) => p.severity === 'error')
        .map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
      assert.deepEqual(errors, [], errors.join('\n'));
      assert.equal(report.totals.errors, 0);
      // The linter does look: the same document with one operation unnamed fails.
      const unnamed = structuredClone(doc);
      delete unnamed.paths['/v1/agents'].post.operationId;
      writeFileSync(file, JSON.stringify(unnamed));
      const broken = await redoclyLint(file);
      assert.deepEqual(
        broken.problems.filter((p) => p.severity === 'error').map((p) => p.ruleId),
        ['operation-operationId'],
      );
      // Every operation declares an error answer (generated clients' error types) and a success one,
      // Server-Sent Events routes included: one without either fails.
      const bare = structuredClone(doc);
      for (const status of Object.keys(bare.paths['/v1/chat/completions'].post.responses)) {
        if (status.startsWith('4')) delete bare.paths['/v1/chat/completions'].post.responses[status];
      }
      delete bare.paths['/v1/runs/{id}/stream'].get.responses['200'];
      writeFileSync(file, JSON.stringify(bare));
      const lax = await redoclyLint(file);
      assert.deepEqual(
        lax.problems
          .filter((p) => p.severity === 'error')
          .map((p) => p.ruleId)
          .sort(),
        ['operation-2xx-response', 'operation-4xx-response'],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names each operation by what it does, once, and fills servers', () => {
    const ids = new Map<string, string>();
    for (const [url, item] of Object.entries<Record<string, { operationId?: string }>>(doc.paths)) {
      for (const method of METHODS.filter((m) => item[m])) {
        const id = item[method]!.operationId ?? '';
        const where = `${method.toUpperCase()} ${url}`;
        assert.match(id, /^[a-z][a-zA-Z0-9]+$/, `${where}: ${id}`);
        // Not the method and path spelled out, as generators do without one (postV1Agents).
        assert.doesNotMatch(id, /^(get|put|post|patch|delete)(V1|Api)/, `${where}: ${id}`);
        assert.equal(ids.get(id), undefined, `${id} names ${where} and ${ids.get(id)}`);
        ids.set(id, where);
      }
    }
    assert.ok(ids.size >= 100, String(ids.size));
    const expected = {
      createAgent: 'POST /v1/agents',
      listAgents: 'GET /v1/agents',
      getAgent: 'GET /v1/agents/{id}',
      updateAgent: 'PATCH /v1/agents/{id}',
      deleteAgent: 'DELETE /v1/agents/{id}',
      cancelTask: 'POST /v1/tasks/{id}/cancel',
      listSessionMessages: 'GET /v1/sessions/{id}/messages',
      getKnowledgeBaseDocument: 'GET /v1/knowledge-bases/{id}/documents/{documentId}',
      createChatCompletion: 'POST /v1/chat/completions',
      chatWithAgent: 'POST /v1/agents/{id}/chat',
      streamRun: 'GET /v1/runs/{id}/stream',
      isaListAgentsConfigs: 'GET /api/v1/agents/configs',
    };
    for (const [id, where] of Object.entries(expected)) assert.equal(ids.get(id), where, id);
    assert.deepEqual(doc.servers, [{ url: '/', description: 'The server that serves this document' }]);
    assert.equal(doc.info.license.name, 'Apache-2.0');
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
        // A trailing wildcard is documented as `{id}` (openapi-document.ts).
        const pathKeys = (keysOf(schema.params) ?? [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1]!))
          .map((k) => (k === '*' ? 'id' : k))
          .sort();
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

  it('serves the docs page, its assets and its document with a CSP that no other site may frame', async () => {
    const page = await fetch(`${s.url}/docs`, { redirect: 'follow' });
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1]!, page.url).href);
    for (const url of [`${s.url}/docs`, page.url, `${s.url}/docs/json`, ...assets]) {
      const res = await fetch(url, { redirect: 'manual' });
      await res.arrayBuffer();
      assert.equal(res.headers.get('content-security-policy'), docsCsp, url);
      assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, url);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', url);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', url);
    }
    // The policy is the docs page's own: the API's answers do not carry it.
    const api = await fetch(`${s.url}/health/live`);
    assert.equal(api.headers.get('x-frame-options'), null);
  });

  it('renders the API operations in a real browser under its CSP, with no violation', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 4000 } });
      const errors = collectPageErrors(page);
      await page.goto(`${s.url}/docs`);
      await page.locator('.opblock').first().waitFor({ timeout: 60_000 });
      assert.ok(
        await page.getByText('/v1/agents/{id}').first().isVisible(),
        'the agents operations are listed',
      );
      assert.ok(await page.getByText('Agentry API').first().isVisible(), 'the document title is shown');
      // Try it out reaches this server under connect-src 'self'.
      const live = page.locator('.opblock', { hasText: '/health/live' }).first();
      await live.locator('.opblock-summary').click();
      await live.getByRole('button', { name: 'Try it out' }).click();
      await live.getByRole('button', { name: 'Execute' }).click();
      const status = live.locator('.live-responses-table tr.response .response-col_status').first();
      await status.waitFor();
      assert.match(await status.innerText(), /200/);
      assert.deepEqual(errors, [], 'no script error and no CSP violation');
    } finally {
      await browser.close();
    }
  });
});
