import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

for (const store of stores) {
  describe(`console sessions from sign-in links (${store})`, () => {
    let s: TestServer;
    before(async () => {
      // A session of five seconds, to see one expire (long enough for a loaded machine's first requests).
      s = await startServer(store, { auth: { console_session_hours: 5 / 3600 } });
    });
    after(() => s?.close());

    /** A sign-in as the console makes it; the session's token is only in the answer's cookie. */
    const signIn = async (body: Record<string, string> = { code: s.app.http.signInLinks.issue() }) => {
      const res = await s.request('POST', '/v1/auth/sign-in', {
        key: null,
        body,
        headers: { 'user-agent': 'TestBrowser/1.0' },
      });
      assert.equal(res.status, 201, res.text);
      assert.ok(!('token' in res.body), 'the token never reaches page script');
      const cookie = res.headers.get('set-cookie') ?? '';
      assert.match(
        cookie,
        /^agentry_session=ags_\w{12}_[\w-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict$/,
      );
      const token = /^agentry_session=([^;]+)/.exec(cookie)![1]!;
      return { ...(res.body as { session_id: string; expires_at: string; tenant: string }), token };
    };
    const withCookie = (token: string, origin?: string) => ({
      key: null,
      headers: { cookie: `agentry_session=${token}`, ...(origin && { origin }) },
    });

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

    it('rides in its cookie: read by any request of the console, changes only from its own origin, cleared at sign-out', async () => {
      const a = await signIn();
      const me = await s.request('GET', '/v1/auth/me', withCookie(a.token));
      assert.equal(me.status, 200, me.text);
      assert.equal(me.body.session_id, a.session_id);
      // A change sent with the cookie from another site (or with no origin at all) is refused.
      const body = { name: 'from-elsewhere', system_prompt: 'x' };
      const foreign = await s.request('POST', '/v1/agents', {
        ...withCookie(a.token, 'http://evil.example'),
        body,
      });
      assert.equal(foreign.status, 403, foreign.text);
      const blind = await s.request('POST', '/v1/agents', { ...withCookie(a.token), body });
      assert.equal(blind.status, 403, blind.text);
      const own = await s.request('POST', '/v1/agents', { ...withCookie(a.token, s.url), body });
      assert.equal(own.status, 201, own.text);
      const out = await s.request('POST', '/v1/auth/sign-out', withCookie(a.token, s.url));
      assert.equal(out.status, 204);
      assert.match(out.headers.get('set-cookie') ?? '', /^agentry_session=; Path=\/; Max-Age=0;/);
      assert.equal((await s.request('GET', '/v1/auth/me', withCookie(a.token))).status, 401);
    });

    it('opened with an API key acts as that key (scopes, owner) and ends when the key is revoked', async () => {
      const made = await s.request('POST', '/v1/keys', { body: { name: 'reader', scopes: ['read'] } });
      assert.equal(made.status, 201, made.text);
      const session = await signIn({ api_key: made.body.secret });
      const me = await s.request('GET', '/v1/auth/me', withCookie(session.token));
      assert.deepEqual(
        [me.body.via, me.body.scopes, me.body.key_id],
        ['console_session', ['read'], made.body.id],
      );
      const listed = (await s.request('GET', '/v1/console-sessions')).body.data;
      assert.equal(listed.find((x: { id: string }) => x.id === session.session_id).api_key_id, made.body.id);
      // A wrong key, or a console session's token passed off as a key, opens nothing.
      for (const api_key of ['agk_000000000000_not-a-key', session.token]) {
        const res = await s.request('POST', '/v1/auth/sign-in', { key: null, body: { api_key } });
        assert.equal(res.status, 401, res.text);
        assert.equal(res.headers.get('set-cookie'), null);
      }
      assert.equal((await s.request('POST', `/v1/keys/${made.body.id}/revoke`)).status, 200);
      await eventually(
        async () =>
          (await s.request('GET', '/v1/auth/me', withCookie(session.token))).status === 401
            ? true
            : undefined,
        30_000,
        'the session of a revoked key refused',
      );
    });

    it('gives a root admin a fresh one-time sign-in link, and no one else', async () => {
      const link = await s.request('POST', '/v1/auth/sign-in-links');
      assert.equal(link.status, 201, link.text);
      const code = /^\/#sign-in=([\w-]+)$/.exec(link.body.path)?.[1];
      assert.ok(code, link.body.path);
      await signIn({ code });
      const reader = await s.request('POST', '/v1/keys', { body: { name: 'r2', scopes: ['read'] } });
      const refused = await s.request('POST', '/v1/auth/sign-in-links', { key: reader.body.secret });
      assert.equal(refused.status, 403);
    });
  });
}
