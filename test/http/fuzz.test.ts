/**
 * Throws malformed and wrongly-typed bodies, headers and query strings at every registered route
 * (read from the app's route table, so routes added later are fuzzed too), with valid credentials
 * and without, and checks three things of every answer: never a 5xx; a 4xx is in the error format
 * with the request id; and a rejected request changed nothing in the store.
 *
 * Reproducible: fixed seed, bounded runs. AGENTRY_FUZZ_RUNS raises the runs per route locally;
 * AGENTRY_FUZZ_SEED replays another seed.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { RouteOptions } from 'fastify';
import { compatFamilies } from '../../src/config/compat-config.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

const seed = Number(process.env.AGENTRY_FUZZ_SEED ?? 20_240_611);
const runsPerRoute = Number(process.env.AGENTRY_FUZZ_RUNS ?? 12);
/** Node's default limit on the request head; above it the answer is 431 and the socket closes. */
const maxHeaderBytes = 16 * 1024;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

interface Attempt {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** One raw HTTP request: the path goes out byte for byte, so broken escapes reach the server. */
function send(base: string, a: Attempt): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: a.method,
        path: a.path,
        headers: a.headers,
        agent: false,
      },
      (res) => {
        // A stream (SSE) that was accepted does not end by itself: its status is the answer.
        if (String(res.headers['content-type']).startsWith('text/event-stream')) {
          res.destroy();
          resolve({ status: res.statusCode!, headers: res.headers, text: '' });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer to ${a.method} ${a.path}`)));
    req.on('error', reject);
    req.end(a.body);
  });
}

// ---- arbitraries -----------------------------------------------------------------------------

/** Any character Node lets a client put in a header value. */
const headerChar = fc
  .integer({ min: 0x20, max: 0xff })
  .filter((c) => c !== 0x7f)
  .map((c) => String.fromCharCode(c));
const headerText = (maxLength: number) => fc.string({ unit: headerChar, maxLength });
/** Printable ASCII without space: what may appear raw in a request path. */
const pathChar = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
const rawPathText = (maxLength: number) =>
  fc.string({ unit: pathChar, maxLength }).map((s) => s.replace(/[?#]/g, ''));
const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });

const requestIdArb = fc.option(
  fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/),
    headerText(160),
    fc.constantFrom('', ' ', 'a b', 'x'.repeat(129), '../../etc/passwd', '<script>'),
  ),
  { nil: undefined },
);

const traceparentArb = fc.option(
  fc.oneof(
    fc.tuple(hex(32), hex(16)).map(([t, s]) => `00-${t}-${s}-01`),
    fc.tuple(hex(2), hex(32), hex(16), hex(2)).map((p) => p.join('-')),
    fc.tuple(hex(32), hex(16)).map(([t, s]) => `00-${t.toUpperCase()}-${s}-01`),
    fc.constantFrom(
      `00-${'0'.repeat(32)}-${'0'.repeat(16)}-00`,
      `ff-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
      '00-xyz',
      '',
    ),
    headerText(100),
  ),
  { nil: undefined },
);

const contentTypeArb = fc.option(
  fc.oneof(
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/json; charset=utf-16',
      'application/merge-patch+json',
      'text/plain',
      'text/html',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz',
      'application/octet-stream',
      'application/xml',
      '*/*',
      ';;;',
      '',
    ),
    headerText(60),
  ),
  { nil: undefined },
);

/** Credentials: the real ones by name (filled in at send time), or garbage of every kind. */
type Credential = { use: 'admin' | 'read' | 'other' | 'none' } | { headers: Record<string, string> };
const credentialArb: fc.Arbitrary<Credential> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ use: 'admin' as const }) },
  { weight: 2, arbitrary: fc.constant({ use: 'read' as const }) },
  { weight: 1, arbitrary: fc.constant({ use: 'other' as const }) },
  { weight: 3, arbitrary: fc.constant({ use: 'none' as const }) },
  headerText(200).map((t) => ({ headers: { authorization: t } })),
  headerText(120).map((t) => ({ headers: { authorization: `Bearer ${t}` } })),
  fc
    .integer({ min: 2_000, max: 20_000 })
    .map((n) => ({ headers: { authorization: `Bearer agk_${'z'.repeat(n)}` } })),
  fc
    .base64String({ maxLength: 120 })
    .map((t) => ({ headers: { authorization: `Bearer eyJhbGciOiJIUzI1NiJ9.${t}.${t}` } })),
  headerText(80).map((t) => ({ headers: { 'x-api-key': t } })),
  headerText(60).map((t) => ({
    headers: { 'x-internal-service': 'true', 'x-internal-service-secret': t },
  })),
  headerText(40).map((t) => ({ headers: { 'x-user-id': t } })),
);

/**
 * A value for a path parameter: a real id of the kind the route looks up (when the setup made one),
 * a real id of some other row, an id of nothing, or garbage.
 */
const segmentArb = (ownIds: string[], knownIds: string[]) =>
  fc.oneof(
    ...(ownIds.length > 0 ? [{ weight: 3, arbitrary: fc.constantFrom(...ownIds) }] : []),
    { weight: ownIds.length > 0 ? 1 : 3, arbitrary: fc.constantFrom(...knownIds) },
    { weight: 2, arbitrary: fc.uuid() },
    fc.string({ maxLength: 40 }).map(encodeURIComponent),
    rawPathText(30),
    fc.constantFrom('%', '%zz', '%E0%A4%A', '..', '.', '%00', '%2F', 'a'.repeat(300), '-1', '0', '1e999', ''),
  );

const queryValueArb = fc.oneof(
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.integer().map(String),
  fc.double().map(String),
  rawPathText(20).map((s) => s.replace(/[&=]/g, '')),
  fc.constantFrom('', '%zz', '%', 'true', 'null', '[]', '{}', '99999999999999999999', '-1', '1e400', 'NaN'),
  fc.constantFrom('%00', 'a%00b', '%ED%A0%80', '%F0%9F%98'),
);

const queryArb = (keys: string[]) =>
  fc
    .array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom(...keys, 'limit', 'offset', '__proto__', 'constructor', 'a[b]', 'a.b'),
          fc.string({ maxLength: 12 }).map(encodeURIComponent),
        ),
        queryValueArb,
      ),
      { maxLength: 5 },
    )
    .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`));

/** Bodies: right keys with wrong values, any JSON, broken JSON, and bodies around the size limit. */
const bodyArb = (keys: string[]) =>
  fc.option(
    fc.oneof(
      {
        weight: 5,
        arbitrary: fc
          .dictionary(
            fc.oneof(fc.constantFrom(...keys, 'id', 'tenant_id'), fc.string({ maxLength: 10 })),
            fc.jsonValue({ maxDepth: 3 }),
            { maxKeys: 6 },
          )
          .map((o) => JSON.stringify(o)),
      },
      { weight: 2, arbitrary: fc.json({ maxDepth: 3 }) },
      {
        weight: 3,
        arbitrary: fc.oneof(
          fc.string({ maxLength: 60 }),
          fc.json({ maxDepth: 2 }).map((j) => j.slice(0, -1)),
          fc.constantFrom(
            '{',
            '[',
            '{"a":}',
            'nul',
            '{"__proto__":{"polluted":true}}',
            '{"constructor":{"prototype":{"polluted":true}}}',
            '\u0000',
            '"unterminated',
            '1e999999',
          ),
        ),
      },
      {
        // Text the store cannot keep (NUL, lone surrogates) in a field the route reads, and nesting
        // past the depth limit.
        weight: 2,
        arbitrary: fc.oneof(
          fc
            .tuple(
              fc.constantFrom(...keys, 'name', 'message', 'query'),
              fc.constantFrom('\\u0000', 'a\\u0000b', '\\ud800', 'x\\udfff', '\\ud83d', '\\udc00\\ud800'),
            )
            .map(([k, v]) => `{"${k}":"${v}"}`),
          fc.constantFrom('{"\\u0000":1}', '{"a":{"b":["\\ud800"]}}'),
          fc.integer({ min: 65, max: 30_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
          fc.integer({ min: 65, max: 5_000 }).map((n) => `{"payload":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`),
        ),
      },
      {
        weight: 1,
        arbitrary: fc
          .integer({ min: 900_000, max: 1_200_000 })
          .map((n) => JSON.stringify({ name: 'big', description: 'x'.repeat(n) })),
      },
    ),
    { nil: undefined },
  );

/**
 * Routes whose protocol has its own error body, with that body's keys: compatibility families
 * (src/http/compat/), and MCP, whose transport answers JSON-RPC errors (Agentry's own gate, before
 * it, answers in Agentry's format).
 */
const familyErrorShapes: Array<[string, string[][]]> = [
  ['/execute', [['duration_ms', 'error', 'request_id', 'service']]],
  ['/run', [['duration_ms', 'error', 'request_id', 'service']]],
  // Anthropic's error body on its Messages API (errors met before the route is known are Agentry's).
  [
    '/v1/messages',
    [
      ['error', 'request_id', 'type'],
      ['error', 'request_id'],
    ],
  ],
  [
    '/mcp',
    [
      ['error', 'id', 'jsonrpc'],
      ['error', 'request_id'],
    ],
  ],
];

// ---- the store's fingerprint ----------------------------------------------------------------

/** One query returning a hash of every table's full content, to see whether anything changed. */
async function fingerprinter(s: TestServer): Promise<() => Promise<Record<string, string>>> {
  const db = s.app.db;
  const tables = (
    await db.query<{ name: string }>(
      `select table_name as name from information_schema.tables
       where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1`,
    )
  ).map((t) => t.name);
  assert.ok(tables.includes('agents') && tables.includes('journal'), tables.join(','));
  // Names come from the catalog and are checked, so quoting them is safe.
  for (const t of tables) assert.match(t, /^[a-z_][a-z0-9_]*$/);
  const sql = `select ${tables
    .map(
      (t) => `(select md5(coalesce(string_agg(x::text, '|' order by x::text), '')) from "${t}" x) as "${t}"`,
    )
    .join(', ')}`;
  return async () => (await db.query<Record<string, string>>(sql))[0]!;
}

function changedTables(a: Record<string, string>, b: Record<string, string>): string[] {
  return Object.keys(a).filter((k) => a[k] !== b[k]);
}

/**
 * fc.assert, with the failure report cut to a readable size (a counterexample may hold a body of
 * a megabyte); the seed and path to replay it stay in the message.
 */
async function assertProperty<T>(
  property: fc.IAsyncProperty<T>,
  params: fc.Parameters<T>,
  what: string,
): Promise<void> {
  try {
    await fc.assert(property, params);
  } catch (err) {
    const cut = (text: string) => text.replace(/(.{300})[^"\n]{200,}/g, '$1…');
    const cause =
      (err as Error).cause instanceof Error ? `\n${cut(((err as Error).cause as Error).message)}` : '';
    throw new Error(`fuzzing ${what}: ${cut((err as Error).message).slice(0, 6000)}${cause.slice(0, 3000)}`);
  }
}

// ---- the test ----------------------------------------------------------------------------------

const shapeKeys = (schema: unknown): string[] => {
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
};

for (const store of stores) {
  describe(`fuzzing every route on ${store}`, () => {
    let s: TestServer;
    let fingerprint: () => Promise<Record<string, string>>;
    const keys = { admin: '', read: '', other: '' };
    const knownIds: string[] = ['basic-assistant', 'researcher'];
    /** Real ids by what a route's parameter names: `/v1/<resource>/:id`, or `:documentId`. */
    const ownIds: Record<string, string[]> = {};
    const idsFor = (url: string, param: string) => {
      // The compatibility routes (/api/..., /v1/delegation/...) name their resources their own way.
      if (param === 'type' && url.startsWith('/api/v1/pools/')) return ['agent', 'custom_agent'];
      if (param === 'instance_id') return ownIds.instances ?? [];
      if (url.startsWith('/api/v1/agents/configs/')) return ownIds.agents ?? [];
      if (url.startsWith('/api/v1/agents/multi-specs/')) return ownIds['multi-agents'] ?? [];
      if (url.startsWith('/api/agents/tasks/') || url.startsWith('/v1/delegation/'))
        return ownIds.tasks ?? [];
      return ownIds[param === 'documentId' ? 'documents' : (url.split('/')[2] ?? '')] ?? [];
    };
    let routes: Array<{ method: string; url: string; route: RouteOptions }> = [];

    before(async () => {
      // No queue workers: nothing but the requests themselves may touch the store. Every
      // compatibility family is on (on PostgreSQL they are off by default), with a warm pool for
      // isA's pool instances large enough for every caller's share (compat.isa_pool_max_per_user).
      s = await startServer(store, {
        tasks: { workers: 0 },
        compat: Object.fromEntries(compatFamilies.map((f) => [f, true])),
        sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 2, max_total: 24 } } },
      });
      keys.admin = s.adminKey;
      const created = async (path: string, body: unknown) => {
        const res = await s.request('POST', path, { body });
        assert.equal(res.status, 201, `${path}: ${res.text}`);
        return res.body;
      };
      keys.read = (await created('/v1/keys', { name: 'fuzz-reader', scopes: ['read'] })).secret;
      const spare = await created('/v1/keys', { name: 'fuzz-spare', scopes: ['write'] });
      const other = await created('/v1/tenants', { name: 'fuzz-other' });
      keys.other = other.admin_key.secret;
      const agent = await created('/v1/agents', { name: 'fuzz-agent' });
      const helper = await created('/v1/agents', { name: 'fuzz-helper' });
      const template = await created('/v1/templates', { name: 'fuzz-template' });
      const spec = await created('/v1/multi-agents', {
        name: 'fuzz-swarm',
        kind: 'swarm',
        members: [agent.id, helper.id],
      });
      knownIds.push(spare.id, other.tenant.id, agent.id, helper.id, template.id, spec.id);
      // Rows behind the deeper routes, so real ids reach their handlers and services, not just their
      // 404s: a knowledge base with a document, an MCP server, a local-dev agent with a deployment.
      const kb = await created('/v1/knowledge-bases', { name: 'fuzz-kb', kind: 'domain' });
      const doc = await created(`/v1/knowledge-bases/${kb.id}/documents`, {
        source: 'fuzz.md',
        content: '# Fuzz\n\nThe fuzzer searches this knowledge base.',
      });
      // A loopback URL, allowed by the tenant's policy, where nothing listens: listing its tools fails
      // at once (connection refused) instead of waiting on the network.
      const me = await s.app.services.tenants.find(s.app.defaultTenantId);
      s.app.services.policies.set({ tenants: { [me!.name]: { network: { allow_private_egress: true } } } });
      const mcp = await created('/v1/mcp-servers', {
        name: 'fuzz-mcp',
        transport: 'http',
        url: 'http://127.0.0.1:9/mcp',
      });
      const scoreConfig = await created('/v1/score-configs', {
        name: 'fuzz-stars',
        kind: 'numeric',
        min: 0,
        max: 5,
      });
      const localDev = (await created('/v1/agents/local-dev', { name: 'fuzz-local' })).agent;
      const deployment = await created(`/v1/agents/${localDev.id}/deployments`, {
        bundle: 'export async function handle(input) { return { echoed: input.message }; }\n',
      });
      const task = await s.request('POST', '/v1/tasks', {
        body: { agent_id: agent.id, task_type: 'default', title: 'fuzz task' },
      });
      assert.equal(task.status, 202, task.text);
      // A held instance of isA's pool, so its execute, stream and release routes meet a real one.
      const instance = await s.request('POST', '/api/v1/pools/agent/acquire', {
        body: { config: { id: agent.id } },
      });
      assert.equal(instance.status, 200, instance.text);
      knownIds.push(kb.id, doc.document.id, mcp.id, scoreConfig.id, localDev.id, deployment.id, task.body.id);
      Object.assign(ownIds, {
        agents: [agent.id, helper.id, localDev.id],
        keys: [spare.id],
        tenants: [other.tenant.id],
        templates: [template.id],
        'multi-agents': [spec.id],
        'knowledge-bases': [kb.id],
        documents: [doc.document.id],
        'mcp-servers': [mcp.id],
        'score-configs': [scoreConfig.id],
        tasks: [task.body.id],
        instances: [instance.body.instance_id],
      });

      const seen = new Set<string>();
      routes = s.app.http.routeTable.flatMap((route) =>
        [route.method].flat().flatMap((method) => {
          const id = `${method} ${route.url}`;
          if (seen.has(id)) return [];
          seen.add(id);
          return [{ method, url: route.url, route }];
        }),
      );
      fingerprint = await fingerprinter(s);
    });
    after(() => s.close());

    it('finds the routes to fuzz in the route table', () => {
      const ids = routes.map((r) => `${r.method} ${r.url}`);
      const compat = [
        'POST /api/v1/pools/:type/acquire',
        'POST /api/v1/pools/:type/:instance_id/execute',
        'POST /api/v1/pools/:type/:instance_id/stream',
        'POST /api/v1/pools/:type/:instance_id/release',
        'GET /api/v1/pools/:type/stats',
        'POST /api/v1/agents/configs',
        'POST /execute',
        'POST /v1/delegation/task',
        'POST /api/v1/plan',
        'POST /api/agents/tasks',
      ];
      for (const expected of [
        'GET /health',
        'POST /v1/agents',
        'PATCH /v1/agents/:id',
        'GET /v1/policy',
        ...compat,
      ]) {
        assert.ok(ids.includes(expected), `${expected} in ${ids.join(', ')}`);
      }
    });

    // The route list is only known once the server is built, so one test walks all of them and
    // names the route in any failure.
    it('never answers 5xx, answers 4xx in the error format, and a rejected request changes nothing', async (t) => {
      let requests = 0;
      /** Accepted requests whose path held a real id of the route's own kind: how deep the run reached. */
      const reached: Record<string, number> = {};
      for (const [index, { method, url, route }] of routes.entries()) {
        const schema = (route.schema ?? {}) as { body?: unknown; querystring?: unknown };
        const attemptArb = fc.record({
          segments: fc.tuple(
            ...[...url.matchAll(/:(\w+)|\*/g)].map((m) => segmentArb(idsFor(url, m[1] ?? '*'), knownIds)),
          ),
          query: queryArb(shapeKeys(schema.querystring)),
          body: bodyArb(shapeKeys(schema.body)),
          contentType: contentTypeArb,
          credential: credentialArb,
          requestId: requestIdArb,
          traceparent: traceparentArb,
        });

        let baseline = await fingerprint();
        await assertProperty(
          fc.asyncProperty(attemptArb, async (a) => {
            let n = 0;
            const path = url.replace(/:\w+|\*/g, () => a.segments[n++]!).replace(/^(?!\/)/, '/') + a.query;
            const headers: Record<string, string> = {};
            const cred = a.credential;
            if ('use' in cred) {
              if (cred.use !== 'none') headers.authorization = `Bearer ${keys[cred.use]}`;
            } else Object.assign(headers, cred.headers);
            if (a.contentType !== undefined) headers['content-type'] = a.contentType;
            if (a.requestId !== undefined) headers['x-request-id'] = a.requestId;
            if (a.traceparent !== undefined) headers.traceparent = a.traceparent;
            // Framed by its length: Node sends a GET body unframed, which the server rightly reads
            // as garbage on the wire (that case is in errors.test.ts).
            if (a.body !== undefined) headers['content-length'] = String(Buffer.byteLength(a.body));
            const attempt: Attempt = { method, path, headers, body: a.body };
            const label = `${method} ${path.slice(0, 200)} headers=${JSON.stringify(headers).slice(0, 300)} body=${String(a.body).slice(0, 200)}`;

            const headBytes = Object.entries(headers).reduce((t, [k, v]) => t + k.length + v.length + 4, 0);
            let answer: Answer;
            try {
              answer = await send(s.url, attempt);
            } catch (err) {
              // The connection may close while the client is still writing: after the 431 for an
              // oversized head, after the 413 for an oversized body, or when a large body nobody
              // reads (a GET's) is still arriving as the answer ends (Node cuts the answer short).
              // Only then; and the server must still be up.
              const tooBig = headBytes > maxHeaderBytes - 512 || (a.body?.length ?? 0) > 64 * 1024;
              assert.ok(tooBig, `${label}: ${(err as Error).message}`);
              const alive = await s.request('GET', '/health', { key: null });
              assert.equal(alive.status, 200, 'the server is still up');
              return;
            }
            requests++;

            assert.ok(answer.status < 500, `${label} → ${answer.status} ${answer.text.slice(0, 500)}`);
            const echoed = answer.headers['x-request-id'];
            if (
              a.requestId !== undefined &&
              /^[A-Za-z0-9._:-]{1,128}$/.test(a.requestId) &&
              answer.status !== 431
            ) {
              assert.equal(echoed, a.requestId, `${label}: the request id is echoed`);
            }
            if (answer.status < 400) {
              for (const [kind, ids] of Object.entries(ownIds))
                if (ids.some((id) => path.includes(id))) reached[kind] = (reached[kind] ?? 0) + 1;
              // Accepted: it may have changed the store (even a GET may create something lazily);
              // later requests are compared against the new state.
              baseline = await fingerprint();
              return;
            }
            if (method !== 'HEAD') {
              let body: { error?: { code?: unknown; message?: unknown } | string; request_id?: unknown };
              try {
                body = JSON.parse(answer.text);
              } catch {
                assert.fail(`${label} → ${answer.status} is not JSON: ${answer.text.slice(0, 200)}`);
              }
              // A whole path segment: `/run` is Zahara's, `/runs` the console's.
              const family = familyErrorShapes.find(
                ([prefix]) => url === prefix || url.startsWith(`${prefix}/`),
              );
              // A compatibility family answers in its own documented error body; errors met before a
              // route is known (431 oversized headers) can only be Agentry's.
              if (family && answer.status !== 431) {
                const keys = Object.keys(body).sort().join();
                assert.ok(
                  family[1].some((shape) => shape.join() === keys),
                  `${label}: ${family[0]} error body ${answer.text.slice(0, 200)}`,
                );
              } else {
                const error = body.error as { code?: unknown; message?: unknown } | undefined;
                assert.equal(typeof error?.code, 'string', `${label}: error.code in ${answer.text}`);
                assert.equal(typeof error?.message, 'string', `${label}: error.message`);
              }
              // JSON-RPC error bodies (MCP) have no request_id; the header carries it.
              if (!('jsonrpc' in body)) {
                assert.equal(body.request_id, echoed, `${label}: request_id matches X-Request-Id`);
              }
            }
            const afterwards = await fingerprint();
            assert.deepEqual(
              changedTables(baseline, afterwards),
              [],
              `${label} → ${answer.status} was rejected but changed the store`,
            );
          }),
          { seed: seed + index, numRuns: runsPerRoute, endOnFailure: true },
          `${method} ${url}`,
        );
      }
      t.diagnostic(`${requests} requests answered; accepted with a real id: ${JSON.stringify(reached)}`);
      assert.ok(requests >= routes.length * runsPerRoute * 0.8, `only ${requests} requests got an answer`);
    });
  });
}
