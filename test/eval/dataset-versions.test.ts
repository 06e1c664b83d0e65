/**
 * Datasets with a history: every change to the items makes a version that can be read back, an
 * experiment pins the version it ran (and may run one split), a release gate may ask for a split,
 * and export writes JSONL and CSV of any version.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers
type Body = Record<string, any>;

const msg = (m: string, tags: string[] = []) => ({ input: { message: m }, expected: `You said: ${m}`, tags });

for (const store of stores) {
  describe(`dataset versions on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store, { tasks: { workers: 2 } as never });
      const agent = await s.request('POST', '/v1/agents', { body: { name: 'echo', model: 'mock/default' } });
      assert.equal(agent.status, 201, agent.text);
    });
    after(() => s.close());

    const messages = async (path: string) =>
      ((await s.request('GET', path)).body.data as Body[]).map((i) => i.input.message);
    const finished = (id: string) =>
      eventually(
        async () => {
          const e = (await s.request('GET', `/v1/experiments/${id}`)).body;
          return e.status === 'running' ? undefined : (e as Body);
        },
        60_000,
        'the experiment to finish',
      );

    it('makes a version of every kind of change and reads any version back', async () => {
      const made = await s.request('POST', '/v1/datasets', {
        body: { name: 'hist', items: [msg('a'), msg('b')] },
      });
      assert.equal(made.status, 201, made.text);
      assert.equal(made.body.version, 1);
      const [a, b] = (await s.request('GET', '/v1/datasets/hist/items')).body.data as Body[];
      assert.equal(
        (await s.request('POST', '/v1/datasets/hist/items', { body: { items: [msg('c')] } })).status,
        201,
      );
      const edited = await s.request('PATCH', `/v1/datasets/hist/items/${a!.id}`, {
        body: { expected: 'A' },
      });
      assert.equal(edited.status, 200, edited.text);
      assert.equal((await s.request('DELETE', `/v1/datasets/hist/items/${b!.id}`)).status, 204);
      const imported = await s.request('POST', '/v1/datasets/hist/import', {
        body: `${JSON.stringify(msg('d'))}\n${JSON.stringify(msg('e'))}\n`,
        headers: { 'content-type': 'application/x-ndjson' },
      });
      assert.equal(imported.body.imported, 2, imported.text);
      const chat = await s.request('POST', '/v1/agents/echo/chat', { body: { message: 'f', stream: false } });
      assert.equal(
        (await s.request('POST', '/v1/datasets/hist/items/from-run', { body: { run_id: chat.body.run_id } }))
          .status,
        201,
      );

      assert.equal((await s.request('GET', '/v1/datasets/hist')).body.version, 6);
      const versions = await s.request('GET', '/v1/datasets/hist/versions');
      assert.equal(versions.status, 200, versions.text);
      assert.equal(versions.body.total, 6);
      assert.deepEqual(
        (versions.body.data as Body[]).map((v) => [
          v.version,
          v.change,
          v.added,
          v.edited,
          v.deleted,
          v.item_count,
        ]),
        [
          [6, 'from_run', 1, 0, 0, 5],
          [5, 'imported', 2, 0, 0, 4],
          [4, 'item_deleted', 0, 0, 1, 2],
          [3, 'item_edited', 0, 1, 0, 3],
          [2, 'items_added', 1, 0, 0, 3],
          [1, 'created', 2, 0, 0, 2],
        ],
      );
      assert.ok(versions.body.data.every((v: Body) => typeof v.created_at === 'string'));

      // Each version as it was: the edited item keeps its id, with the expected of its time.
      const at = (v: number) => s.request('GET', `/v1/datasets/hist/items?version=${v}`);
      assert.deepEqual(await messages('/v1/datasets/hist/items?version=1'), ['a', 'b']);
      assert.deepEqual(await messages('/v1/datasets/hist/items?version=2'), ['a', 'b', 'c']);
      const v2 = (await at(2)).body.data as Body[];
      const v3 = (await at(3)).body.data as Body[];
      assert.equal(v2[0]!.id, a!.id);
      assert.equal(v2[0]!.expected, 'You said: a');
      assert.equal(v3[0]!.id, a!.id);
      assert.equal(v3[0]!.expected, 'A');
      assert.deepEqual(await messages('/v1/datasets/hist/items?version=4'), ['a', 'c']);
      assert.deepEqual(await messages('/v1/datasets/hist/items?version=5'), ['a', 'c', 'd', 'e']);
      assert.deepEqual(await messages('/v1/datasets/hist/items'), ['a', 'c', 'd', 'e', 'f']);
      const paged = await s.request('GET', '/v1/datasets/hist/items?version=2&limit=2&offset=1');
      assert.equal(paged.body.total, 3);
      assert.deepEqual(
        paged.body.data.map((i: Body) => i.input.message),
        ['b', 'c'],
      );
    });

    it('runs an experiment on the version it pinned at start, whatever changes during it', async () => {
      await s.request('POST', '/v1/datasets', { body: { name: 'pinned', items: [msg('one'), msg('two')] } });
      const started = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'pinned', agent: 'echo', evaluators: [{ type: 'exact_match' }], concurrency: 1 },
      });
      assert.equal(started.status, 201, started.text);
      assert.equal(started.body.dataset_version, 1);
      assert.equal(started.body.split, null);
      // The dataset changes while the experiment runs.
      const [one] = (await s.request('GET', '/v1/datasets/pinned/items')).body.data as Body[];
      await s.request('PATCH', `/v1/datasets/pinned/items/${one!.id}`, {
        body: { input: { message: 'changed' } },
      });
      await s.request('POST', '/v1/datasets/pinned/items', { body: { items: [msg('three')] } });
      const done = await finished(started.body.id);
      assert.equal(done.status, 'completed');
      assert.equal(done.progress.total, 2);
      const items = (await s.request('GET', `/v1/experiments/${started.body.id}/items`)).body.data as Body[];
      assert.deepEqual(
        items.map((i) => [i.input.message, i.output]),
        [
          ['one', 'You said: one'],
          ['two', 'You said: two'],
        ],
      );

      // An older version asked for by number.
      const old = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'pinned', dataset_version: 2, agent: 'echo', evaluators: [{ type: 'exact_match' }] },
      });
      assert.equal(old.status, 201, old.text);
      assert.equal(old.body.dataset_version, 2);
      assert.equal(old.body.progress.total, 2);
      const oldItems = (await s.request('GET', `/v1/experiments/${old.body.id}/items`)).body.data as Body[];
      assert.deepEqual(
        oldItems.map((i) => i.input.message),
        ['changed', 'two'],
      );
      await finished(old.body.id);
    });

    it('runs the split an experiment chooses, and a gate with a split counts only that split', async () => {
      // Version 1 of the agent answers every item; the gate asks for its split `test`.
      const items = [msg('t1', ['test']), msg('t2', ['test']), { input: { message: 'x' }, expected: 'nope' }];
      await s.request('POST', '/v1/datasets', { body: { name: 'split', items } });
      const gate = { dataset: 'split', split: 'test', evaluator: 'exact_match', threshold: 0.9 };
      const set = await s.request('PUT', '/v1/agents/echo/labels/production/gate', { body: gate });
      assert.equal(set.status, 200, set.text);
      assert.equal(set.body.gate.split, 'test');

      // On every item, exact_match is 2/3: it neither passes nor counts for a gate of the split.
      const all = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'split', agent: 'echo@1', evaluators: [{ type: 'exact_match' }] },
      });
      assert.equal(all.status, 201, all.text);
      assert.equal((await finished(all.body.id)).status, 'completed');
      const refused = await s.request('PUT', '/v1/agents/echo/labels/production', { body: { version: 1 } });
      assert.equal(refused.status, 409, refused.text);
      assert.equal(refused.body.error.details.experiment, null);
      assert.match(refused.body.error.details.failures[0], /on split test of dataset split/);

      const test = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'split', split: 'test', agent: 'echo@1', evaluators: [{ type: 'exact_match' }] },
      });
      assert.equal(test.status, 201, test.text);
      assert.equal(test.body.split, 'test');
      assert.equal(test.body.progress.total, 2);
      assert.equal((await finished(test.body.id)).status, 'completed');
      const ok = await s.request('PUT', '/v1/agents/echo/labels/production', { body: { version: 1 } });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.body.evidence.experiment.id, test.body.id);
      assert.equal(ok.body.evidence.score.value, 1);
    });

    it('exports any version as JSONL and CSV that import reads back', async () => {
      const items = [
        { input: { message: 'hello, "world"\nbye' }, expected: 'x', metadata: { k: 1 }, tags: ['a', 'b'] },
        { input: { task_type: 'sum', payload: { n: [1, 2] }, title: 'T' }, expected: { total: 3 } },
      ];
      await s.request('POST', '/v1/datasets', { body: { name: 'exp', items } });
      await s.request('POST', '/v1/datasets/exp/items', { body: { items: [msg('later')] } });

      const jsonl = await s.request('GET', '/v1/datasets/exp/export?format=jsonl&version=1');
      assert.equal(jsonl.status, 200, jsonl.text);
      assert.match(jsonl.headers.get('content-type') ?? '', /application\/x-ndjson/);
      assert.match(jsonl.headers.get('content-disposition') ?? '', /exp@1\.jsonl/);
      assert.deepEqual(
        jsonl.text
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)),
        [
          { input: items[0]!.input, expected: 'x', metadata: { k: 1 }, tags: ['a', 'b'] },
          { input: items[1]!.input, expected: { total: 3 }, metadata: {}, tags: [] },
        ],
      );
      assert.equal((await s.request('GET', '/v1/datasets/exp/export')).text.trim().split('\n').length, 3);

      const csv = await s.request('GET', '/v1/datasets/exp/export?format=csv&version=1');
      assert.equal(csv.status, 200, csv.text);
      assert.match(csv.headers.get('content-type') ?? '', /text\/csv/);
      assert.equal(
        csv.text,
        'message,task_type,payload,title,expected,metadata,tags\r\n' +
          '"hello, ""world""\nbye",,,,x,"{""k"":1}",a|b\r\n' +
          ',sum,"{""n"":[1,2]}",T,"{""total"":3}",{},\r\n',
      );
      // What CSV export writes, the CSV import reads (a non-string expected comes back as its JSON text).
      await s.request('POST', '/v1/datasets', { body: { name: 'exp-copy' } });
      const back = await s.request('POST', '/v1/datasets/exp-copy/import', {
        body: csv.text,
        headers: { 'content-type': 'text/csv' },
      });
      assert.equal(back.status, 200, back.text);
      assert.deepEqual(back.body, { imported: 2, errors: [] });
      const copied = (await s.request('GET', '/v1/datasets/exp-copy/items')).body.data as Body[];
      assert.deepEqual(
        copied.map((i) => [i.input, i.expected, i.metadata, i.tags]),
        [
          [items[0]!.input, 'x', { k: 1 }, ['a', 'b']],
          [items[1]!.input, '{"total":3}', {}, []],
        ],
      );
    });

    it('imports tens of MB of JSONL (and CSV over the JSON body limit) as one version each', async () => {
      await s.request('POST', '/v1/datasets', { body: { name: 'big' } });
      const filler = 'x'.repeat(10_000);
      const lines: string[] = [];
      for (let i = 0; i < 2000; i++) lines.push(JSON.stringify({ input: { message: `q${i} ${filler}` } }));
      lines.splice(1000, 0, '{not json');
      const body = `${lines.join('\n')}\n`;
      assert.ok(body.length > 20_000_000);
      const res = await s.request('POST', '/v1/datasets/big/import', {
        body,
        headers: { 'content-type': 'application/x-ndjson' },
      });
      assert.equal(res.status, 200, res.text.slice(0, 500));
      assert.equal(res.body.imported, 2000);
      assert.deepEqual(
        res.body.errors.map((e: Body) => e.line),
        [1001],
      );
      const rows = ['message,tags'];
      for (let i = 0; i < 200; i++) rows.push(`"c${i}, ${filler}",big`);
      const csv = await s.request('POST', '/v1/datasets/big/import?format=csv', {
        body: rows.join('\r\n'),
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(csv.status, 200, csv.text.slice(0, 500));
      assert.deepEqual(csv.body, { imported: 200, errors: [] });
      const versions = (await s.request('GET', '/v1/datasets/big/versions')).body.data as Body[];
      assert.deepEqual(
        versions.map((v) => [v.version, v.change, v.added, v.item_count]),
        [
          [3, 'imported', 200, 2200],
          [2, 'imported', 2000, 2000],
          [1, 'created', 0, 0],
        ],
      );
      const json = await s.request('POST', '/v1/datasets/big/import', { body: { items: [] } });
      assert.equal(json.status, 415, json.text);
      assert.equal(json.body.error.code, 'unsupported_media_type');

      // A body that says it is over the import's 64 MiB: 413 before the rest is sent, nothing imported.
      const req = http.request(`${s.url}/v1/datasets/big/import`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${s.adminKey}`,
          'content-type': 'application/x-ndjson',
          'content-length': String(65 * 1024 * 1024),
        },
      });
      req.on('error', () => {});
      req.write(`${JSON.stringify(msg('too much'))}\n`);
      const [over] = (await once(req, 'response')) as [http.IncomingMessage];
      let text = '';
      for await (const part of over) text += part;
      req.destroy();
      assert.equal(over.statusCode, 413, text);
      assert.equal(JSON.parse(text).error.code, 'payload_too_large');
      assert.equal((await s.request('GET', '/v1/datasets/big')).body.version, 3);
    });

    it('answers bad input with 4xx in the house format', async () => {
      await s.request('POST', '/v1/datasets', { body: { name: 'bad-in', items: [msg('a', ['train'])] } });
      const cases: [string, string, unknown, number][] = [
        ['GET', '/v1/datasets/bad-in/items?version=0', undefined, 400],
        ['GET', '/v1/datasets/bad-in/items?version=abc', undefined, 400],
        ['GET', '/v1/datasets/bad-in/items?version=9', undefined, 404],
        ['GET', '/v1/datasets/bad-in/export?format=xml', undefined, 400],
        ['GET', '/v1/datasets/bad-in/export?version=9', undefined, 404],
        ['GET', '/v1/datasets/nope/versions', undefined, 404],
        ['GET', '/v1/datasets/bad-in/versions?limit=0', undefined, 400],
        [
          'POST',
          '/v1/experiments',
          { dataset: 'bad-in', dataset_version: 9, agent: 'echo', evaluators: [{ type: 'exact_match' }] },
          404,
        ],
        [
          'POST',
          '/v1/experiments',
          { dataset: 'bad-in', split: 'test', agent: 'echo', evaluators: [{ type: 'exact_match' }] },
          422,
        ],
        [
          'POST',
          '/v1/experiments',
          { dataset: 'bad-in', split: '', agent: 'echo', evaluators: [{ type: 'exact_match' }] },
          400,
        ],
        ['PUT', '/v1/agents/echo/labels/staging/gate', { dataset: 'bad-in', split: '', threshold: 1 }, 400],
      ];
      for (const [method, path, body, status] of cases) {
        const res = await s.request(method, path, body === undefined ? {} : { body });
        assert.equal(res.status, status, `${method} ${path}: ${res.text}`);
        assert.ok(res.body.error.code, res.text);
      }
      // A refused empty split leaves no experiment behind.
      const listed = (await s.request('GET', '/v1/experiments?limit=100')).body.data as Body[];
      assert.ok(!listed.some((e) => e.name === 'echo on bad-in'));
    });
  });
}
