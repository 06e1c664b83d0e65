import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

for (const store of stores) {
  describe(`console sessions from sign-in links (${store})`, () => {
    let s: TestServer;
    before(async () => {
      // A session of five seconds, to see one expire (long enough for a loaded machine's first requests).
      s = await startServer(store, { auth: { console_session_hours: 5 / 3600 } });
    });
    after(() => s?.close());

    const signIn = async () => {
      const res = await s.request('POST', '/v1/auth/sign-in', {
        key: null,
        body: { code: s.app.http.signInLinks.issue() },
        headers: { 'user-agent': 'TestBrowser/1.0' },
      });
      assert.equal(res.status, 201, res.text);
      return res.body as { token: string; session_id: string; expires_at: string; tenant: string };
    };

    it('acts as the root admin until it expires, then is refused (401) and listed as expired', async () => {
      const session = await signIn();
      assert.match(session.token, /^ags_[0-9a-f]{12}_[\w-]{43}$/);
      const me = await s.request('GET', '/v1/auth/me', { key: session.token });
      assert.equal(me.status, 200, me.text);
      assert.deepEqual(
        [me.body.via, me.body.session_id, me.body.scopes],
        ['console_session', session.session_id, ['admin']],
      );
      const listed = (await s.request('GET', '/v1/console-sessions')).body.data;
      const row = listed.find((x: { id: string }) => x.id === session.session_id);
      assert.equal(row.user_agent, 'TestBrowser/1.0');
      assert.equal(row.revoked_at, null);
      assert.ok(!('hash' in row), 'the stored hash never leaves the server');
      await new Promise((r) => setTimeout(r, Date.parse(session.expires_at) - Date.now() + 50));
      const late = await s.request('GET', '/v1/auth/me', { key: session.token });
      assert.equal(late.status, 401);
      assert.match(late.body.error.message, /console session expired/);
    });

    it('ends at sign-out and at an admin revocation; only admins list or revoke; bad ids are 4xx', async () => {
      const a = await signIn();
      assert.equal((await s.request('POST', '/v1/auth/sign-out', { key: a.token })).status, 204);
      assert.equal((await s.request('GET', '/v1/auth/me', { key: a.token })).status, 401);

      const b = await signIn();
      const reader = await s.request('POST', '/v1/keys', { body: { name: 'viewer', scopes: ['read'] } });
      const asReader = await s.request('GET', '/v1/console-sessions', { key: reader.body.secret });
      assert.equal(asReader.status, 403);
      const revoked = await s.request('POST', `/v1/console-sessions/${b.session_id}/revoke`);
      assert.equal(revoked.status, 200, revoked.text);
      assert.ok(revoked.body.revoked_at);
      assert.equal((await s.request('GET', '/v1/auth/me', { key: b.token })).status, 401);
      // An API key signing out has no session to end: nothing happens, the key still works.
      assert.equal((await s.request('POST', '/v1/auth/sign-out')).status, 204);
      assert.equal((await s.request('GET', '/v1/auth/me')).status, 200);
      assert.equal((await s.request('POST', '/v1/console-sessions/not-a-uuid/revoke')).status, 400);
      const unknown = await s.request(
        'POST',
        '/v1/console-sessions/0190a4c2-0000-7000-8000-000000000000/revoke',
      );
      assert.equal(unknown.status, 404);
      assert.equal((await s.request('GET', '/v1/auth/me', { key: 'ags_000000000000_bad' })).status, 401);
    });
  });
}
