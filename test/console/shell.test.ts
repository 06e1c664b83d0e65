import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { consoleCsp } from '../../src/http/console.ts';
import { runCli, startServe, tempDir } from '../cli/run-cli.ts';
import { collectPageErrors, launchBrowser, openSignedIn } from '../helpers/browser.ts';
import { eventually } from '../helpers/eventually.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/** The console session's cookie in a browser context: its value and how it is guarded. */
async function sessionCookie(context: BrowserContext) {
  const cookie = (await context.cookies()).find((c) => c.name === 'agentry_session');
  assert.ok(cookie, 'the session is a cookie');
  assert.equal(cookie.httpOnly, true, 'no script of the page reads it');
  assert.equal(cookie.sameSite, 'Strict', 'no other site sends it');
  assert.match(cookie.value, /^ags_/);
  return cookie.value;
}

/** Nothing of the credentials is kept where the page's scripts can read them. */
async function nothingInPageStorage(page: Page) {
  assert.equal(await page.evaluate('sessionStorage.length + localStorage.length'), 0);
  assert.doesNotMatch((await page.evaluate('document.cookie')) as string, /agentry_session/);
}

describe('web console: serving and sign-in', () => {
  let s: TestServer;
  let browser: Browser;
  before(async () => {
    [s, browser] = await Promise.all([startServer('pglite'), launchBrowser()]);
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('serves the page uncached with a strict CSP, hashed assets cached long, and keeps API 404s in JSON', async () => {
    for (const path of ['/', '/agents', '/runs/abc/trace']) {
      const res = await fetch(`${s.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/, path);
      assert.equal(res.headers.get('cache-control'), 'no-cache', path);
      assert.equal(res.headers.get('content-security-policy'), consoleCsp, path);
      const html = await res.text();
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
      const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      assert.ok(asset, 'the page loads a hashed module');
      const js = await fetch(`${s.url}${asset}`);
      assert.equal(js.status, 200);
      assert.match(
        js.headers.get('cache-control') ?? '',
        /max-age=31536000.*immutable|immutable.*max-age=31536000/,
      );
    }
    for (const path of ['/v1/nope', '/v1/agents/x/nope']) {
      const res = await s.request('GET', path, { headers: { accept: 'text/html' } });
      assert.equal(res.status, 404, path);
      assert.equal(res.body.error.code, 'not_found', path);
    }
    // Elsewhere a browser's page load gets the console's not-found page, still a 404; an API call the JSON.
    const page = await fetch(`${s.url}/nope/xyz`, { headers: { accept: 'text/html,application/xhtml+xml' } });
    assert.equal(page.status, 404);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(page.headers.get('content-security-policy'), consoleCsp);
    const api = await s.request('GET', '/nope/xyz');
    assert.equal(api.status, 404);
    assert.equal(api.body.error.code, 'not_found');
  });

  it('signs in through the one-time link as a console session (no new key), keeps it out of the URL, and refuses the link twice', async () => {
    const keysBefore = (await s.request('GET', '/v1/keys')).body.total;
    const code = s.app.http.signInLinks.issue();
    const page = await browser.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${s.url}/#sign-in=${code}`);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    assert.equal(new URL(page.url()).hash, '', 'the code leaves the address bar');
    const key = await sessionCookie(page.context());
    await nothingInPageStorage(page);
    const me = await s.request('GET', '/v1/auth/me', { key });
    assert.equal(me.status, 200);
    assert.deepEqual(me.body.scopes, ['admin']);
    assert.equal(me.body.via, 'console_session');
    assert.equal((await s.request('GET', '/v1/keys')).body.total, keysBefore, 'no admin key is added');
    const listed = (await s.request('GET', '/v1/console-sessions')).body.data;
    assert.equal(listed[0].id, me.body.session_id);
    assert.ok(Date.parse(listed[0].expires_at) > Date.now(), 'it expires');
    await page.getByText('System: green').waitFor();

    const again = await s.request('POST', '/v1/auth/sign-in', { key: null, body: { code } });
    assert.equal(again.status, 401, 'a sign-in code works once');
    assert.equal(again.body.error.code, 'unauthorized');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('shows a not-found page with a way back for unknown addresses, ids that are none, and a missing run', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await openSignedIn(page, s.url, s.adminKey, '/nope/xyz');
    await page.getByRole('heading', { name: 'No such page' }).waitFor();
    await page.getByRole('region', { name: 'Not found' }).getByText('/nope/xyz').waitFor();
    await page.goto(`${s.url}/tasks/board`);
    await page.getByRole('heading', { name: 'No such task' }).waitFor();
    await page.getByRole('link', { name: '← Tasks' }).click();
    await page.waitForURL(`${s.url}/tasks`);
    await page.goto(`${s.url}/runs/0190a4c2-0000-7000-8000-000000000000`);
    await page.getByRole('heading', { name: 'No such run' }).waitFor();
    await page.getByRole('link', { name: '← Runs' }).click();
    await page.waitForURL(`${s.url}/runs`);
    // The browser reports the 404s of the page load and the run's trace as console errors: those are expected.
    assert.deepEqual(
      errors.filter((e) => !/404 \(Not Found\)/.test(e)),
      [],
    );
    await context.close();
  });

  it('asks for a key, shows the refusal with its request id, and opens pages by URL', async () => {
    const page = await browser.newPage();
    await page.goto(`${s.url}/tasks`);
    await page.getByLabel('API key').fill('agk_000000000000_not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByRole('alert')
      .getByText(/refused this key: .+ \(request [\w-]+\)/)
      .waitFor();

    const read = await s.request('POST', '/v1/keys', { body: { name: 'viewer', scopes: ['read'] } });
    await openSignedIn(page, s.url, read.body.secret, '/settings');
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    await page.getByRole('link', { name: 'Runs' }).click();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/runs');
    await page.getByText('default · read').waitFor();
    await page.close();
  });

  it('`agentry serve` prints a one-time sign-in link; opening it signs the browser in', async () => {
    // The real program, as a newcomer starts it: its own process, its own embedded store.
    const tmp = tempDir('agentry-console-link-');
    const server = await startServe([], { cwd: tmp.dir });
    try {
      const link = /^console: (http:\/\/\S+\/#sign-in=\S+) \(a one-time link\)$/m.exec(server.stderr())?.[1];
      assert.ok(link?.startsWith(`${server.url}/#sign-in=`), `a sign-in link printed:\n${server.stderr()}`);
      if (!link) return;
      const context = await browser.newContext();
      const page = await context.newPage();
      const errors = collectPageErrors(page);
      await page.goto(link);
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      await page.getByText('System: green').waitFor();
      assert.equal(page.url(), `${server.url}/`, 'the code leaves the address bar');
      const key = await sessionCookie(context);
      await nothingInPageStorage(page);
      const me = await fetch(`${server.url}/v1/auth/me`, { headers: { cookie: `agentry_session=${key}` } });
      assert.equal(me.status, 200);
      // A link opened in a new tab of the same browser is signed in already.
      const tab = await context.newPage();
      await tab.goto(`${server.url}/settings`);
      await tab.getByRole('heading', { name: 'Settings' }).waitFor();
      await tab.close();
      // The printed link is spent: a second browser opening it is asked for a key.
      const other = await (await browser.newContext()).newPage();
      await other.goto(link);
      await other.getByLabel('API key', { exact: true }).waitFor();
      assert.equal((await other.context().cookies()).length, 0);
      // `agentry console` asks the running server for a fresh link, which signs that browser in.
      const fresh = await runCli(['console'], { cwd: tmp.dir });
      assert.equal(fresh.code, 0, fresh.stderr);
      const again = /^(http:\/\/\S+\/#sign-in=\S+)$/m.exec(fresh.stdout)?.[1];
      assert.ok(again?.startsWith(`${server.url}/#sign-in=`), fresh.stdout);
      // A new page: going to the same address with another hash would not load the console again.
      const next = await other.context().newPage();
      await next.goto(again ?? '');
      await next.getByRole('heading', { name: 'Overview' }).waitFor();
      await sessionCookie(other.context());
      await other.context().close();
      assert.deepEqual(errors, []);
      await context.close();
    } finally {
      assert.equal(await server.stop(), 0, server.stderr());
      tmp.remove();
    }
  });

  it('lists console sessions in Settings, revokes one (its browser is signed out), and ends its own at sign-out', async () => {
    const signIn = async () => {
      const page = await (await browser.newContext()).newPage();
      await page.goto(`${s.url}/#sign-in=${s.app.http.signInLinks.issue()}`);
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      return { page, token: await sessionCookie(page.context()) };
    };
    const first = await signIn();
    const second = await signIn();
    await second.page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Settings' })
      .click();
    const panel = second.page.getByRole('region', { name: 'Console sessions' });
    const prefix = (t: string) => t.split('_').slice(0, 2).join('_');
    await panel
      .getByRole('row', { name: new RegExp(`${prefix(second.token)} \\(this browser\\)`) })
      .waitFor();
    second.page.once('dialog', (d) => void d.accept());
    await panel.getByRole('button', { name: `Revoke ${prefix(first.token)}` }).click();
    await panel.getByRole('row', { name: new RegExp(`${prefix(first.token)}.*ended`) }).waitFor();
    assert.equal((await s.request('GET', '/v1/auth/me', { key: first.token })).status, 401);
    // The revoked browser is asked to sign in at its next request (its own refresh may come first).
    await first.page.reload();
    await first.page.getByLabel('API key', { exact: true }).waitFor();

    await second.page.getByRole('button', { name: 'Sign out' }).click();
    await second.page.getByLabel('API key', { exact: true }).waitFor();
    await eventually(
      async () =>
        (await s.request('GET', '/v1/auth/me', { key: second.token })).status === 401 ? true : undefined,
      30_000,
      'the signed-out session refused',
    );
    await first.page.context().close();
    await second.page.context().close();
  });
});
