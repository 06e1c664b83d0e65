import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tenantsFileSchema } from '../../src/config/tenant-policy.ts';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

for (const store of stores) {
  describe(`score configs and honest scores on ${store}`, () => {
    let s: TestServer;
    let agentId: string;
    /** Keys: a program's (write, its own user), a person's (write, made for a user), and an app's end users'. */
    let program: string;
    let alice: string;
    let bob: string;
    let feedback: string;
    const key = async (scopes: string[], owner?: string) => {
      const res = await s.request('POST', '/v1/keys', { body: { scopes, ...(owner && { owner }) } });
      assert.equal(res.status, 201, res.text);
      return res.body.secret as string;
    };
    const chat = async (message: string) => {
      const res = await s.request('POST', `/v1/agents/${agentId}/chat`, { body: { message, stream: false } });
      assert.equal(res.status, 200, res.text);
      return res.body.run_id as string;
    };
    const config = async (body: unknown) => {
      const res = await s.request('POST', '/v1/score-configs', { body });
      assert.equal(res.status, 201, res.text);
      return res.body;
    };
    const score = (run: string, body: unknown, as?: string) =>
      s.request('POST', `/v1/runs/${run}/scores`, { body, key: as });

    before(async () => {
      s = await startServer(store);
      agentId = (await s.request('POST', '/v1/agents', { body: { name: 'judged', model: 'mock/default' } }))
        .body.id;
      program = await key(['write']);
      alice = await key(['write'], 'user:alice');
      bob = await key(['write'], 'user:bob');
      feedback = await key(['feedback']);
      await config({ name: 'accuracy', kind: 'numeric', min: 0, max: 5, description: 'stars' });
      await config({
        name: 'tone',
        kind: 'categorical',
        categories: [
          { label: 'rude', value: 0 },
          { label: 'neutral', value: 0.5 },
          { label: 'kind', value: 1 },
        ],
      });
      await config({ name: 'thumbs', kind: 'boolean' });
    });
    after(() => s.close());

    it('defines, reads, lists and changes configs; names are unique among live ones', async () => {
      const byName = await s.request('GET', '/v1/score-configs/accuracy');
      assert.equal(byName.status, 200, byName.text);
      assert.deepEqual([byName.body.kind, byName.body.min, byName.body.max], ['numeric', 0, 5]);
      const byId = await s.request('GET', `/v1/score-configs/${byName.body.id}`);
      assert.equal(byId.body.name, 'accuracy');
      const list = await s.request('GET', '/v1/score-configs');
      assert.deepEqual(
        list.body.data.map((c: { name: string }) => c.name),
        ['accuracy', 'thumbs', 'tone'],
      );
      const again = await s.request('POST', '/v1/score-configs', {
        body: { name: 'thumbs', kind: 'boolean' },
      });
      assert.equal(again.status, 409, again.text);
      const described = await s.request('PATCH', '/v1/score-configs/accuracy', {
        body: { description: 'stars, 0 to 5' },
      });
      assert.equal(described.status, 200, described.text);
      assert.equal(described.body.description, 'stars, 0 to 5');
      // Kind and values never change: a different scale is a new config.
      const rescale = await s.request('PATCH', '/v1/score-configs/accuracy', { body: { max: 10 } });
      assert.equal(rescale.status, 400, rescale.text);
      assert.equal((await s.request('GET', '/v1/score-configs/nothing')).status, 404);
    });

    it('refuses bad configs with a 400 naming the field, never a 500', async () => {
      const cases: [unknown, string | undefined][] = [
        [{ name: 'x', kind: 'numeric', min: 5, max: 1 }, 'max'],
        [{ name: 'x', kind: 'categorical' }, 'categories'],
        [
          {
            name: 'x',
            kind: 'categorical',
            categories: [
              { label: 'a', value: 1 },
              { label: 'a', value: 2 },
            ],
          },
          'categories',
        ],
        [{ name: 'x', kind: 'boolean', min: 0 }, 'min'],
        [
          {
            name: 'x',
            kind: 'numeric',
            categories: [
              { label: 'a', value: 1 },
              { label: 'b', value: 2 },
            ],
          },
          'categories',
        ],
        [{ name: 'x', kind: 'stars' }, 'kind'],
        [{ name: '', kind: 'boolean' }, 'name'],
        [{ name: 'x y', kind: 'boolean' }, 'name'],
        [{ name: 'x', kind: 'numeric', min: 'low' }, 'min'],
        [{ name: 'x', kind: 'boolean', extra: 1 }, undefined],
        [[], undefined],
        ['null', undefined],
        [{ name: 'x'.repeat(10_000), kind: 'boolean' }, 'name'],
      ];
      for (const [body, field] of cases) {
        const res = await s.request('POST', '/v1/score-configs', { body });
        assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${res.text}`);
        assert.equal(res.body.error.code, 'validation_error');
        if (field) assert.match(JSON.stringify(res.body.error), new RegExp(field), res.text);
      }
    });

    it('checks values against their config and stores a label with the number', async () => {
      const run = await chat('judge me');
      const ok = async (body: object) => {
        const res = await score(run, body);
        assert.equal(res.status, 201, `${JSON.stringify(body)}: ${res.text}`);
        return res.body;
      };
      const stars = await ok({ config: 'accuracy', value: 4.5 });
      assert.deepEqual([stars.name, stars.value, stars.label], ['accuracy', 4.5, null]);
      const kind = await ok({ config: 'tone', value: 'kind', comment: 'polite' });
      assert.deepEqual([kind.name, kind.value, kind.label], ['tone', 1, 'kind']);
      const byNumber = await ok({ config: 'tone', value: 0.5 });
      assert.equal(byNumber.label, 'neutral');
      const up = await ok({ config: 'thumbs', value: true });
      assert.deepEqual([up.value, up.label], [1, 'true']);
      const down = await ok({ name: 'thumbs', value: false });
      assert.deepEqual(
        [down.value, down.label, down.config_id],
        [0, 'false', up.config_id],
        'named as a config: checked by it',
      );
      const free = await ok({ name: 'latency_feel', value: -3 });
      assert.deepEqual([free.config_id, free.label], [null, null]);
      // Filters read the number.
      const kindRuns = await s.request('GET', '/v1/runs?score_name=tone&score_min=1');
      assert.deepEqual(
        kindRuns.body.data.map((r: { id: string }) => r.id),
        [run],
      );

      const refused: [unknown, string][] = [
        [{ config: 'accuracy', value: 6 }, 'value'],
        [{ config: 'accuracy', value: -0.1 }, 'value'],
        [{ config: 'accuracy', value: 'high' }, 'value'],
        [{ config: 'tone', value: 'sarcastic' }, 'value'],
        [{ config: 'tone', value: 0.7 }, 'value'],
        [{ config: 'tone', value: true }, 'value'],
        [{ config: 'thumbs', value: 'yes' }, 'value'],
        [{ config: 'thumbs', value: 2 }, 'value'],
        [{ name: 'accuracy', value: 9 }, 'value'],
        [{ name: 'free', value: true }, 'value'],
        [{ name: 'free', value: 'good' }, 'value'],
        [{ config: 'nothing', value: 1 }, 'config'],
        [{ config: 'accuracy', name: 'other', value: 1 }, 'name'],
        [{ value: 1 }, 'name'],
        [{ name: 'x', value: 1, source: 'human' }, 'source'],
        [{ name: 'x', value: 1, source: 'evaluator' }, 'source'],
        [{ name: 'x', value: 1, source: 'robot' }, 'source'],
        [{ name: 'x', value: null }, 'value'],
        [{ name: 'x', value: [1] }, 'value'],
        [{ name: 'x', value: { n: 1 } }, 'value'],
        [{ name: 'x', value: 1, config: '' }, 'config'],
        [{ name: 'x', value: 1, config: 'y'.repeat(500) }, 'config'],
        [{ name: 'x', value: 1, unknown: true }, ''],
      ];
      for (const [body, field] of refused) {
        const res = await score(run, body);
        assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${res.text}`);
        assert.match(JSON.stringify(res.body.error), new RegExp(field), res.text);
      }
      for (const raw of [
        '{',
        '"value"',
        '[]',
        '{"name": "x", "value": 1e400}',
        '{"value": 1, "name": ["a"]}',
        'null',
      ]) {
        const res = await s.request('POST', `/v1/runs/${run}/scores`, { body: raw });
        assert.equal(res.status, 400, `${raw}: ${res.text}`);
      }
    });

    it('sets source and author from the credential, never from the body', async () => {
      const run = await chat('who scores');
      const as = async (k: string, body: object = { name: 'q', value: 1 }) => {
        const res = await score(run, body, k);
        assert.equal(res.status, 201, res.text);
        return res.body;
      };
      const byProgram = await as(program);
      assert.equal(byProgram.source, 'api');
      assert.match(byProgram.created_by, /^key:[0-9a-f-]{36}$/);
      const byAlice = await as(alice, { name: 'q', value: 1, source: 'human' });
      assert.deepEqual([byAlice.source, byAlice.created_by], ['human', 'user:alice']);
      const claimed = await score(run, { name: 'q', value: 1, source: 'human' }, program);
      assert.equal(claimed.status, 400, 'a program cannot claim to be a person');
      assert.match(claimed.body.error.message, /credential.*"api"/);
      const byUser = await as(feedback, { config: 'thumbs', value: true });
      assert.deepEqual([byUser.source, byUser.created_by], ['end_user', byUser.created_by]);
      assert.match(byUser.created_by, /^key:/);
      const endUserClaims = await score(run, { name: 'q', value: 1, source: 'api' }, feedback);
      assert.equal(endUserClaims.status, 400);

      // A console session is a person at a screen.
      const signIn = await s.request('POST', '/v1/auth/sign-in', { key: null, body: { api_key: program } });
      assert.equal(signIn.status, 201, signIn.text);
      const session = /^agentry_session=([^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')![1]!;
      const byConsole = await as(session, { name: 'q', value: 1, source: 'human' });
      assert.equal(byConsole.source, 'human');
      assert.equal(
        byConsole.created_by,
        byProgram.created_by,
        "a session opened with a key is the key's user",
      );
    });

    it('lets the author or an admin edit and delete a score, keeping its history', async () => {
      const run = await chat('edit me');
      const first = await score(run, { config: 'tone', value: 'rude', comment: 'harsh' }, alice);
      assert.equal(first.status, 201, first.text);
      const path = `/v1/runs/${run}/scores/${first.body.id}`;

      const byBob = await s.request('PATCH', path, { key: bob, body: { value: 'kind' } });
      assert.equal(byBob.status, 403, byBob.text);
      assert.match(byBob.body.error.message, /user:alice/);
      assert.equal((await s.request('DELETE', path, { key: bob })).status, 403);
      assert.equal((await s.request('PATCH', path, { key: feedback, body: { value: 'kind' } })).status, 403);

      const badEdit = await s.request('PATCH', path, { key: alice, body: { value: 'sarcastic' } });
      assert.equal(badEdit.status, 400, 'an edit is checked against the config too');
      for (const body of [{}, { value: null }, { comment: 5 }, { name: 'other' }, { source: 'human' }]) {
        const res = await s.request('PATCH', path, { key: alice, body });
        assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      }
      const edited = await s.request('PATCH', path, { key: alice, body: { value: 'neutral' } });
      assert.equal(edited.status, 200, edited.text);
      assert.deepEqual(
        [edited.body.value, edited.body.label, edited.body.comment, edited.body.updated_by],
        [0.5, 'neutral', 'harsh', 'user:alice'],
      );
      const byAdmin = await s.request('PATCH', path, { body: { comment: null } });
      assert.equal(byAdmin.status, 200, byAdmin.text);
      assert.equal(byAdmin.body.comment, null);
      assert.equal(byAdmin.body.created_by, 'user:alice', 'the author stays');

      const history = await s.request('GET', `${path}/history`);
      assert.equal(history.status, 200, history.text);
      assert.deepEqual(
        history.body.data.map((h: { action: string; label: string; comment: string; changed_by: string }) => [
          h.action,
          h.label,
          h.comment,
          h.changed_by,
        ]),
        [
          ['update', 'rude', 'harsh', 'user:alice'],
          ['update', 'neutral', 'harsh', history.body.data[1].changed_by],
        ],
      );
      assert.match(history.body.data[1].changed_by, /^key:/, "the admin's edit names the admin");

      assert.equal((await s.request('DELETE', path, { key: alice })).status, 204);
      const listed = await s.request('GET', `/v1/runs/${run}/scores`);
      assert.ok(!listed.body.data.some((x: { id: string }) => x.id === first.body.id));
      const afterDelete = await s.request('GET', `${path}/history`);
      assert.deepEqual(
        afterDelete.body.data.map((h: { action: string; value: number }) => [h.action, h.value]),
        [
          ['update', 0],
          ['update', 0.5],
          ['delete', 0.5],
        ],
      );
      assert.equal((await s.request('PATCH', path, { key: alice, body: { value: 'kind' } })).status, 404);
      assert.equal((await s.request('DELETE', path, { key: alice })).status, 404);
      const other = `/v1/runs/${run}/scores/01900000-0000-7000-8000-000000000000`;
      assert.equal((await s.request('GET', `${other}/history`)).status, 404);
      assert.equal(
        (await s.request('PATCH', `/v1/runs/${run}/scores/not-a-uuid`, { body: { value: 1 } })).status,
        400,
      );
    });

    it("leaves an evaluator's scores to admins", async () => {
      const put = await s.request('PUT', '/v1/agents/judged/evaluators', {
        body: { evaluators: [{ type: 'json_valid' }], sample_rate: 1 },
      });
      assert.equal(put.status, 200, put.text);
      const run = await chat('sample me');
      const [evaluated] = await eventually(async () => {
        const res = await s.request('GET', `/v1/runs/${run}/scores`);
        return res.body.data.length === 1 ? res.body.data : undefined;
      });
      assert.deepEqual([evaluated.source, evaluated.created_by], ['evaluator', null]);
      await s.request('DELETE', '/v1/agents/judged/evaluators');
      const path = `/v1/runs/${run}/scores/${evaluated.id}`;
      assert.equal((await s.request('PATCH', path, { key: alice, body: { value: 1 } })).status, 403);
      const fixed = await s.request('PATCH', path, { body: { value: 1, comment: 'valid after all' } });
      assert.equal(fixed.status, 200, fixed.text);
      assert.equal(fixed.body.source, 'evaluator', 'an edit keeps the source');
    });

    it('gives a feedback key score posting and nothing else, rate-limited per key', async () => {
      const run = await chat('rate me');
      for (const [method, path] of [
        ['GET', `/v1/runs/${run}/scores`],
        ['GET', `/v1/runs/${run}`],
        ['GET', '/v1/score-configs'],
        ['POST', '/v1/score-configs'],
        ['POST', `/v1/agents/${agentId}/chat`],
        ['GET', '/v1/agents'],
      ] as const) {
        const res = await s.request(method, path, {
          key: feedback,
          body: method === 'POST' ? {} : undefined,
        });
        assert.equal(res.status, 403, `${method} ${path}: ${res.text}`);
        assert.match(res.body.error.message, /feedback.*only post scores/);
      }
      const made = await s.request('POST', '/v1/keys', { key: feedback, body: { scopes: ['admin'] } });
      assert.equal(made.status, 403);

      s.app.services.policies.set(
        tenantsFileSchema.parse({ tenants: { default: { rate_limits: { feedback_per_minute: 3 } } } }),
      );
      // One minute for the whole check: the window cannot turn between the posts.
      const limit = s.app.services.feedbackLimit as unknown as { now: () => number };
      const minute = (Math.floor(Date.now() / 60_000) + 10) * 60_000;
      limit.now = () => minute + 15_000;
      const fresh = await key(['feedback']);
      try {
        for (let i = 0; i < 3; i++)
          assert.equal((await score(run, { config: 'thumbs', value: true }, fresh)).status, 201);
        const limited = await score(run, { config: 'thumbs', value: true }, fresh);
        assert.equal(limited.status, 429, limited.text);
        assert.equal(limited.headers.get('retry-after'), '45');
        assert.match(limited.body.error.message, /feedback_per_minute/);
        // Another key has its own count; keys that read and write are not counted.
        const other = await key(['feedback']);
        assert.equal((await score(run, { config: 'thumbs', value: false }, other)).status, 201);
        for (let i = 0; i < 5; i++)
          assert.equal((await score(run, { name: 'q', value: 1 }, program)).status, 201);
        limit.now = () => minute + 60_000;
        assert.equal(
          (await score(run, { config: 'thumbs', value: true }, fresh)).status,
          201,
          'a new minute',
        );
      } finally {
        limit.now = Date.now;
        s.app.services.policies.set({ tenants: {} });
      }
    });

    it('archives a config that scores name, and deletes one that none does', async () => {
      const run = await chat('archive');
      await config({ name: 'unused', kind: 'boolean' });
      assert.equal((await s.request('DELETE', '/v1/score-configs/unused')).status, 204);
      assert.equal((await s.request('GET', '/v1/score-configs/unused')).status, 404);

      const used = await config({ name: 'stars', kind: 'numeric', min: 1, max: 5 });
      assert.equal((await score(run, { config: 'stars', value: 5 })).status, 201);
      const archived = await s.request('DELETE', '/v1/score-configs/stars');
      assert.equal(archived.status, 200, archived.text);
      assert.ok(archived.body.archived_at);
      const refused = await score(run, { config: used.id, value: 3 });
      assert.equal(refused.status, 400, refused.text);
      assert.match(refused.body.error.message, /archived/);
      // The name is free for a new scale; the old scores keep theirs.
      const wider = await config({ name: 'stars', kind: 'numeric', min: 0, max: 10 });
      assert.notEqual(wider.id, used.id);
      assert.equal((await score(run, { name: 'stars', value: 9 })).status, 201);
      const listed = await s.request('GET', '/v1/score-configs?archived=true');
      assert.equal(listed.body.data.filter((c: { name: string }) => c.name === 'stars').length, 2);
      assert.equal(
        (await s.request('GET', '/v1/score-configs')).body.data.filter(
          (c: { name: string }) => c.name === 'stars',
        ).length,
        1,
      );
      // Bringing the old one back while the new one lives would make two of a name.
      const back = await s.request('PATCH', `/v1/score-configs/${used.id}`, { body: { archived: false } });
      assert.equal(back.status, 409, back.text);
      assert.equal((await s.request('GET', '/v1/score-configs?archived=maybe')).status, 400);
    });
  });
}
