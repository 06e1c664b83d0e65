import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTenant } from '../auth/fixtures.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of the Prometheus text exposition format (0.0.4): every line must be a HELP,
 * a TYPE, or a sample of a family that declared its TYPE; anything else fails the test.
 */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const familyOf = (name: string) => {
    for (const suffix of ['_bucket', '_sum', '_count', '']) {
      const base = suffix ? name.slice(0, -suffix.length) : name;
      if (name.endsWith(suffix) && types.has(base)) return base;
    }
    return undefined;
  };
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    const type = /^# TYPE ([a-zA-Z_:][\w:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      assert.ok(!types.has(type[1]!), `TYPE declared twice for ${type[1]}`);
      types.set(type[1]!, type[2]!);
      continue;
    }
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (-?[\d.e+-]+|NaN|[+-]Inf)$/.exec(line);
    assert.ok(m, `not a valid exposition line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const labelText = m[2] ?? '';
    const labelRe = /([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)",?/g;
    let consumed = 0;
    for (const l of labelText.matchAll(labelRe)) {
      labels[l[1]!] = l[2]!.replace(/\\"/g, '"').replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      consumed += l[0].length;
    }
    assert.equal(consumed, labelText.length, `malformed labels in ${line}`);
    assert.ok(familyOf(m[1]!), `sample ${m[1]} has no TYPE`);
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { types, samples };
}

for (const store of stores) {
  describe(`GET /metrics on ${store}`, () => {
    let s: TestServer;
    let readKey = '';
    before(async () => {
      s = await startServer(store);
      const key = await s.request('POST', '/v1/keys', { body: { name: 'reader', scopes: ['read'] } });
      assert.equal(key.status, 201, key.text);
      readKey = key.body.secret;
    });
    after(() => s.close());

    it('needs the admin scope', async () => {
      const anonymous = await s.request('GET', '/metrics', { key: null });
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.body.error.code, 'unauthorized');
      const reader = await s.request('GET', '/metrics', { key: readKey });
      assert.equal(reader.status, 403);
      assert.equal(reader.body.error.code, 'forbidden');
    });

    it('is readable with a metrics-scope key of the default tenant, which opens nothing else', async () => {
      const created = await s.request('POST', '/v1/keys', {
        body: { name: 'prometheus', scopes: ['metrics'] },
      });
      assert.equal(created.status, 201, created.text);
      assert.deepEqual(created.body.scopes, ['metrics']);
      const scraper = created.body.secret as string;
      const scrape = await s.request('GET', '/metrics', { key: scraper });
      assert.equal(scrape.status, 200);
      assert.match(scrape.text, /^# TYPE agentry_open_streams gauge$/m);
      for (const [method, path] of [
        ['GET', '/v1/agents'],
        ['POST', '/v1/agents'],
        ['GET', '/v1/keys'],
        ['GET', '/v1/runs'],
        ['GET', '/v1/journal'],
      ] as const) {
        const res = await s.request(method, path, {
          key: scraper,
          body: method === 'POST' ? { name: 'x' } : undefined,
        });
        assert.equal(res.status, 403, `${method} ${path}: ${res.text}`);
        assert.equal(res.body.error.code, 'forbidden');
      }

      // /metrics covers every tenant: another tenant gets no scrape key, and its admin no metrics.
      const other = await createTenant(s, 'metrics-other');
      const refused = await s.request('POST', '/v1/keys', {
        body: { scopes: ['metrics'] },
        key: other.adminKey,
      });
      assert.equal(refused.status, 400, refused.text);
      assert.match(refused.body.error.message, /default tenant/);
      const viaRoot = await s.request('POST', '/v1/keys', {
        body: { scopes: ['metrics'], tenant: other.name },
      });
      assert.equal(viaRoot.status, 400, viaRoot.text);
      assert.equal((await s.request('GET', '/metrics', { key: other.adminKey })).status, 403);
    });

    it('exposes the HTTP duration histogram by route template and status, process metrics and pool gauges', async () => {
      const { body: agent } = await s.request('POST', '/v1/agents', { body: { name: 'measured' } });
      for (let i = 0; i < 3; i++)
        assert.equal((await s.request('GET', `/v1/agents/${agent.id}`)).status, 200);
      const missing = '01890a5d-ac96-774b-bcce-b302099a8057';
      assert.equal((await s.request('GET', `/v1/agents/${missing}`)).status, 404);
      assert.equal((await s.request('GET', '/no/such/route/123')).status, 404);

      const res = await s.request('GET', '/metrics');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const { types, samples } = parseExposition(res.text);

      assert.equal(types.get('agentry_http_request_duration_seconds'), 'histogram');
      const count = (labels: Record<string, string>) =>
        samples.find(
          (x) =>
            x.name === 'agentry_http_request_duration_seconds_count' &&
            Object.entries(labels).every(([k, v]) => x.labels[k] === v),
        )?.value;
      assert.equal(count({ method: 'GET', route: '/v1/agents/:id', status: '200' }), 3);
      assert.equal(count({ method: 'GET', route: '/v1/agents/:id', status: '404' }), 1);
      assert.equal(count({ method: 'POST', route: '/v1/agents', status: '201' }), 1);
      assert.equal(count({ method: 'GET', route: 'unmatched', status: '404' }), 1);
      assert.ok(
        !samples.some((x) => x.labels.route?.includes(agent.id) || x.labels.route?.includes('123')),
        'routes are labelled by template, never by concrete path',
      );

      // Buckets are cumulative and the +Inf bucket equals the count, for every series.
      const series = samples.filter((x) => x.name === 'agentry_http_request_duration_seconds_bucket');
      const key = (l: Record<string, string>) => `${l.method} ${l.route} ${l.status}`;
      const byKey = new Map<string, Sample[]>();
      for (const x of series) byKey.set(key(x.labels), [...(byKey.get(key(x.labels)) ?? []), x]);
      assert.ok(byKey.size >= 4);
      for (const [k, buckets] of byKey) {
        const values = buckets.map((b) => b.value);
        assert.deepEqual(
          values,
          [...values].sort((a, b) => a - b),
          `cumulative buckets for ${k}`,
        );
        const inf = buckets.find((b) => b.labels.le === '+Inf')!.value;
        const [method, route, status] = k.split(' ');
        assert.equal(inf, count({ method: method!, route: route!, status: status! }), k);
      }

      for (const name of [
        'process_cpu_user_seconds_total',
        'process_resident_memory_bytes',
        'nodejs_heap_size_used_bytes',
        'nodejs_eventloop_lag_seconds',
      ]) {
        const sample = samples.find((x) => x.name === name);
        assert.ok(sample, `${name} is exposed`);
        assert.ok(sample.value >= 0);
      }

      for (const name of ['agentry_db_pool_connections', 'agentry_db_pool_idle', 'agentry_db_pool_waiting']) {
        assert.equal(types.get(name), 'gauge', name);
        const sample = samples.find((x) => x.name === name);
        assert.ok(sample && sample.value >= 0, name);
      }
      const open = samples.find((x) => x.name === 'agentry_db_pool_connections')!.value;
      assert.ok(open >= 1, 'the store has at least one connection open');

      assert.ok(
        samples.some((x) => x.name === 'agentry_auth_failures_total' && x.labels.reason === 'missing'),
        'the anonymous /metrics call above was counted',
      );
    });
  });
}
