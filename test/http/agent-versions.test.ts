/**
 * Agent versions: every change of an agent's config (POST, PATCH, the isA compat route, rollback)
 * keeps an immutable version with the whole config, its author, time and message; versions are
 * listed, read, compared field by field and rolled back to; another user's private agent has none
 * to show.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

for (const store of stores) {
  describe(`agent versions on ${store}`, () => {
    let s: TestServer;
    let alice: string;
    let bob: string;
    before(async () => {
      s = await startServer(store, { compat: { isa: true }, tasks: { workers: 0 } });
      const key = async (owner: string) =>
        (await s.request('POST', '/v1/keys', { body: { scopes: ['write'], owner } })).body.secret as string;
      alice = await key('user:alice');
      bob = await key('user:bob');
    });
    after(() => s.close());

    it('keeps a version per change with the whole config, author and message', async () => {
      const made = await s.request('POST', '/v1/agents', {
        body: { name: 'versioned', system_prompt: 'Be brief.\nAnswer in English.', version_message: 'first' },
      });
      assert.equal(made.status, 201, made.text);
      const id = made.body.id;
      const patched = await s.request('PATCH', `/v1/agents/${id}`, {
        body: {
          system_prompt: 'Be brief.\nAnswer in French.',
          tools: ['calculator'],
          version_message: 'French',
        },
      });
      assert.equal(patched.status, 200, patched.text);
      assert.equal(patched.body.version, 2);
      assert.equal(patched.body.version_message, undefined, 'the message is the version’s, not a field');

      const list = await s.request('GET', `/v1/agents/versioned/versions?limit=1`);
      assert.equal(list.status, 200, list.text);
      assert.equal(list.body.total, 2);
      assert.equal(list.body.data.length, 1);
      const [v2] = list.body.data;
      assert.equal(v2.version, 2);
      assert.equal(v2.message, 'French');
      assert.match(v2.author, /^key:/);
      assert.deepEqual(v2.config.tools, ['calculator']);
      assert.equal(v2.config.system_prompt, 'Be brief.\nAnswer in French.');
      for (const gone of ['id', 'tenant_id', 'version', 'owner', 'created_at', 'updated_at']) {
        assert.ok(!(gone in v2.config), `${gone} is identity, not config`);
      }

      const v1 = await s.request('GET', `/v1/agents/${id}/versions/1`);
      assert.equal(v1.status, 200, v1.text);
      assert.equal(v1.body.message, 'first');
      assert.deepEqual(v1.body.config.tools, []);
      // The whole config: every field the agent shows but its identity.
      const {
        id: _i,
        tenant_id: _t,
        version: _v,
        owner: _o,
        created_at: _c,
        updated_at: _u,
        ...config
      } = made.body;
      assert.deepEqual(v1.body.config, config);
    });

    it('diffs two versions field by field, a prompt as a unified text diff', async () => {
      const diff = await s.request('GET', '/v1/agents/versioned/versions/diff?from=1&to=2');
      assert.equal(diff.status, 200, diff.text);
      assert.deepEqual(
        diff.body.changes.map((c: { field: string }) => c.field),
        ['system_prompt', 'tools'],
      );
      const prompt = diff.body.changes[0];
      assert.match(prompt.patch, /^-Answer in English\.$/m);
      assert.match(prompt.patch, /^\+Answer in French\.$/m);
      assert.match(prompt.patch, /^ Be brief\.$/m);
      assert.deepEqual(prompt.lines, { added: 1, removed: 1 });
      assert.deepEqual(diff.body.changes[1], { field: 'tools', from: [], to: ['calculator'] });
      const toLatest = await s.request('GET', '/v1/agents/versioned/versions/diff?from=2');
      assert.equal(toLatest.status, 200);
      assert.deepEqual(toLatest.body.changes, [], 'from the latest to itself: nothing');
    });

    it('rolls back by making a new version equal to the old one', async () => {
      const back = await s.request('POST', '/v1/agents/versioned/versions/1/rollback', { body: {} });
      assert.equal(back.status, 200, back.text);
      assert.equal(back.body.version, 3);
      assert.equal(back.body.system_prompt, 'Be brief.\nAnswer in English.');
      assert.deepEqual(back.body.tools, []);
      const v3 = await s.request('GET', '/v1/agents/versioned/versions/3');
      assert.equal(v3.body.message, 'rollback to version 1');
      const same = await s.request('GET', '/v1/agents/versioned/versions/diff?from=1&to=3');
      assert.deepEqual(same.body.changes, []);
      // Rolling back to the present config still records the decision.
      const again = await s.request('POST', '/v1/agents/versioned/versions/3/rollback', {
        body: { message: 'pin it' },
      });
      assert.equal(again.body.version, 4);
      assert.equal((await s.request('GET', '/v1/agents/versioned/versions/4')).body.message, 'pin it');
    });

    it('records changes made through the compat routes too', async () => {
      const made = await s.request('POST', '/api/v1/agents/configs', { body: { name: 'isa-made' } });
      assert.equal(made.status, 200, made.text);
      const changed = await s.request('PATCH', '/api/v1/agents/configs/isa-made', {
        body: { description: 'via isA' },
      });
      assert.equal(changed.status, 200, changed.text);
      const list = await s.request('GET', '/v1/agents/isa-made/versions');
      assert.deepEqual(
        list.body.data.map((v: { version: number; config: { description: string } }) => [
          v.version,
          v.config.description,
        ]),
        [
          [2, 'via isA'],
          [1, ''],
        ],
      );
    });

    it('answers unknown versions and bad input with clear 4xx', async () => {
      const unknown = await s.request('GET', '/v1/agents/versioned/versions/99');
      assert.equal(unknown.status, 404);
      assert.match(unknown.body.error.message, /no version 99; it has versions 1 to 4/);
      assert.equal((await s.request('GET', '/v1/agents/versioned/versions/0')).status, 400);
      assert.equal((await s.request('GET', '/v1/agents/versioned/versions/two')).status, 400);
      assert.equal((await s.request('GET', '/v1/agents/versioned/versions/diff')).status, 400);
      assert.equal((await s.request('GET', '/v1/agents/versioned/versions/diff?from=1&to=77')).status, 404);
      assert.equal((await s.request('GET', '/v1/agents/nobody/versions')).status, 404);
      const rb = await s.request('POST', '/v1/agents/versioned/versions/99/rollback', { body: {} });
      assert.equal(rb.status, 404);
      const extra = await s.request('POST', '/v1/agents/versioned/versions/1/rollback', {
        body: { version: 2 },
      });
      assert.equal(extra.status, 400);
      const long = await s.request('PATCH', '/v1/agents/versioned', {
        body: { version_message: 'x'.repeat(2001) },
      });
      assert.equal(long.status, 400);
    });

    it("shows another user's private agent's versions to nobody else", async () => {
      const made = await s.request('POST', '/v1/agents', {
        key: alice,
        body: { name: 'alice-private', visibility: 'private' },
      });
      assert.equal(made.status, 201, made.text);
      for (const path of ['/versions', '/versions/1', '/versions/diff?from=1']) {
        assert.equal((await s.request('GET', `/v1/agents/alice-private${path}`, { key: bob })).status, 404);
      }
      const rb = await s.request('POST', '/v1/agents/alice-private/versions/1/rollback', {
        key: bob,
        body: {},
      });
      assert.equal(rb.status, 404);
      const own = await s.request('GET', '/v1/agents/alice-private/versions', { key: alice });
      assert.equal(own.status, 200);
      const aliceKey = (await s.request('GET', '/v1/auth/me', { key: alice })).body;
      assert.equal(own.body.data[0].author, `key:${aliceKey.key_id}`);
    });
  });
}
