import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, signedInTab, signInContext } from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { createAgent } from '../runtime/helpers.ts';

/** Schedules and API keys in the browser, the clinic's trace asked for early, keyboard use, the error boundary. */
describe('web console: schedules, keys, keyboard and failures', () => {
  let s: TestServer;
  let browser: Browser;
  let runId: string;

  // Every test but the first (which watches sign-in itself) shares one signed-in tab.
  let tab: Awaited<ReturnType<typeof signedInTab>>;
  const open = async (path: string) => {
    const opened = await tab.open(path);
    opened.page.setDefaultTimeout(30_000);
    return opened;
  };
  const close = async (page: Page) => {
    if (page !== tab.page) await page.context().close();
  };

  before(async () => {
    // Room for more MCP servers than one page of the console shows.
    [s, browser] = await Promise.all([
      startServer('pglite', { mcp: { max_servers_per_tenant: 40 } }),
      launchBrowser(),
    ]);
    const agent = await createAgent(s, {
      name: 'clerk',
      model: 'mock/default',
      task_types: [{ name: 'tidy' }],
    });
    const chat = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
      body: { message: 'hello', stream: false },
    });
    assert.equal(chat.status, 200, chat.text);
    runId = chat.body.run_id;
    tab = await signedInTab(browser, s.url, s.adminKey);
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('asks for the run’s trace while sign-in is still being checked, not after it', async () => {
    const page = await (await browser.newContext()).newPage();
    await signInContext(page, s.url, s.adminKey);
    let traceAsked!: () => void;
    const asked = new Promise<void>((resolve) => {
      traceAsked = resolve;
    });
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === `/v1/runs/${runId}/trace`) traceAsked();
    });
    let beforeSignIn = false;
    // Sign-in is held until the trace is asked for (or 20 s pass, within the heading's 30 s wait below):
    // only a page that asks early gets it in time. A page that asks late waits the whole 20 s.
    await page.route('**/v1/auth/me', async (route) => {
      beforeSignIn = await Promise.race([
        asked.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 20_000)),
      ]);
      await route.continue();
    });
    await page.goto(`${s.url}/runs/${runId}`);
    await page.getByRole('heading', { name: `Run ${runId.slice(-8)}` }).waitFor();
    assert.equal(beforeSignIn, true, 'the trace request started before sign-in answered');
    await close(page);
  });

  it('creates a schedule, pauses and resumes it, and deletes it after confirmation', async () => {
    const { page, errors } = await open('/tasks/schedules');
    await page.getByText('No schedules').waitFor();
    await page.getByLabel('Name', { exact: true }).fill('nightly-tidy');
    await page.getByLabel('Agent').selectOption({ label: 'clerk' });
    await page.getByLabel('Task type').fill('tidy');
    await page.getByLabel('Task title').fill('Tidy up');
    await page.getByLabel('Every (seconds)').fill('86400');
    await page.getByRole('button', { name: 'Create schedule' }).click();
    const row = page.getByRole('row', { name: /nightly-tidy/ });
    await row.getByRole('cell', { name: 'active' }).waitFor();
    await row.getByText('every 86400 s').waitFor();

    await page.getByRole('button', { name: 'Pause nightly-tidy' }).click();
    await row.getByRole('cell', { name: 'paused' }).waitFor();
    const [listed] = (await s.request('GET', '/v1/schedules')).body.data;
    assert.equal(listed.paused, true);
    await page.getByRole('button', { name: 'Resume nightly-tidy' }).click();
    await row.getByRole('cell', { name: 'active' }).waitFor();

    // The first confirmation is dismissed: nothing is deleted.
    page.once('dialog', (d) => void d.dismiss());
    await page.getByRole('button', { name: 'Delete nightly-tidy' }).click();
    assert.equal((await s.request('GET', '/v1/schedules')).body.data.length, 1);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete nightly-tidy' }).click();
    await page.getByText('No schedules').waitFor();
    assert.equal((await s.request('GET', '/v1/schedules')).body.data.length, 0);
    assert.deepEqual(errors, []);
    await close(page);
  });

  it('shows a new key’s secret once, which works until the key is revoked', async () => {
    const { page, errors } = await open('/settings');
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    // A key needs a name: the field says so, and nothing is created.
    const before = (await s.request('GET', '/v1/keys')).body.total;
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByText('Name the key: say who or what will use it.').waitFor();
    assert.equal(await page.getByLabel('Key name').getAttribute('aria-invalid'), 'true');
    assert.equal((await s.request('GET', '/v1/keys')).body.total, before);
    await page.getByLabel('Key name').fill('ci-reader');
    await page.getByLabel('Scope').selectOption('read');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByRole('status').filter({ hasText: 'not shown again' });
    const secret = (await shown.locator('code').innerText()).trim();
    assert.match(secret, /^agk_/);
    await shown.getByRole('button', { name: 'Copy the secret' }).waitFor();
    assert.equal((await s.request('GET', '/v1/agents', { key: secret })).status, 200);
    await shown.getByRole('button', { name: 'Done' }).click();
    await shown.waitFor({ state: 'detached' });
    await page.reload();
    await page.getByRole('button', { name: 'Revoke ci-reader' }).waitFor();
    assert.equal(await page.getByText(secret).count(), 0, 'the secret is not shown again');

    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Revoke ci-reader' }).click();
    await page
      .getByRole('row', { name: /ci-reader/ })
      .getByText(/^revoked /)
      .waitFor();
    assert.equal((await s.request('GET', '/v1/agents', { key: secret })).status, 401);
    assert.deepEqual(errors, []);
    await close(page);
  });

  it('is usable from the keyboard: skip link, the navigation, then the page’s own controls', async () => {
    const { page, errors } = await open('/');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const focused = () =>
      page.evaluate('document.activeElement?.textContent?.trim() ?? ""') as Promise<string>;
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Skip to content');
    const outline = (await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')) as string;
    assert.notEqual(outline, 'none', 'the focused control shows it');
    for (let i = 0; i < 12 && (await focused()) !== 'Runs'; i++) await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Runs');
    await page.keyboard.press('Enter');
    // The page's own title: the overview has a "Runs" heading of its own, which matched while the
    // runs page was still loading and left the filters not there yet to tab to (failed once).
    await page.getByRole('heading', { name: 'Runs', exact: true, level: 1 }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/runs');
    // On through the rest of the navigation to the page's first filter, and choose by keys.
    for (let i = 0; i < 12 && (await focused()).startsWith('any') === false; i++)
      await page.keyboard.press('Tab');
    const tag = (await page.evaluate('document.activeElement?.tagName')) as string;
    assert.equal(tag, 'SELECT', 'a filter of the page has the focus');
    // The run opens by Enter on its link.
    for (let i = 0; i < 20 && (await focused()) !== runId.slice(-8); i++) await page.keyboard.press('Tab');
    assert.equal(await focused(), runId.slice(-8));
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: `Run ${runId.slice(-8)}` }).waitFor();
    assert.deepEqual(errors, []);
    await close(page);
  });

  it('shows a page that fails to load as an error in the page, not a blank screen, and recovers', async () => {
    const { page, errors } = await open('/');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.route(/\/assets\/usage-[^/]*\.js$/, (route) => route.abort());
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('heading', { name: 'Something went wrong on this page' }).waitFor();
    await page.getByRole('alert').waitFor();
    assert.ok(await page.getByRole('navigation', { name: 'Main' }).isVisible(), 'the shell stays');
    await page.getByRole('link', { name: 'Runs' }).click();
    await page.getByRole('heading', { name: 'Runs', exact: true }).waitFor();
    assert.equal(await page.getByText('Something went wrong on this page').count(), 0);
    assert.ok(
      errors.every((e) => /usage-|Failed to (load|fetch)|dynamically imported/.test(e)),
      String(errors),
    );
    await close(page);
  });

  it('pages through API keys, tenants, MCP servers, schedules and knowledge bases, each row once', async () => {
    const n = 27; // past one page of 25
    const agent = await createAgent(s, {
      name: 'pager',
      model: 'mock/default',
      task_types: [{ name: 'tidy' }],
    });
    const made = async (path: string, body: object) => {
      const res = await s.request('POST', path, { body });
      assert.equal(res.status, 201, res.text);
    };
    for (let i = 0; i < n; i++) {
      const pad = String(i).padStart(2, '0');
      await made('/v1/keys', { name: `pk-${pad}`, scopes: ['read'] });
      await made('/v1/tenants', { name: `pt-${pad}` });
      await made('/v1/mcp-servers', { name: `pm-${pad}`, transport: 'stdio', command: '/usr/bin/true' });
      await made('/v1/schedules', {
        name: `ps-${pad}`,
        interval_seconds: 3600,
        agent_id: agent.id,
        task_type: 'tidy',
        title: 'tidy',
      });
      await made('/v1/knowledge-bases', { name: `pkb-${pad}`, kind: 'domain' });
    }
    const { page, errors } = await open('/settings');
    /** Reads the names on every page of one list, forward then back to the first. */
    const pageThrough = async (nav: string, names: () => Promise<string[]>) => {
      const pager = page.getByRole('navigation', { name: nav });
      await pager.getByText(/^1–25 of \d+$/).waitFor();
      const total = Number((await pager.locator('span').innerText()).split(' of ')[1]);
      const seen = await names();
      for (let offset = 25; offset < total; offset += 25) {
        await pager.getByRole('button', { name: 'Next' }).click();
        await pager.getByText(new RegExp(`^${offset + 1}–`)).waitFor();
        seen.push(...(await names()));
      }
      assert.ok(await pager.getByRole('button', { name: 'Next' }).isDisabled(), nav);
      assert.equal(seen.length, total, nav);
      assert.equal(new Set(seen).size, total, `${nav}: no row twice`);
      await pager.getByRole('button', { name: 'Previous' }).click();
      return seen;
    };
    const region = (name: string) => page.getByRole('region', { name });
    const keys = await pageThrough('API key pages', () =>
      region('API keys').locator('tbody tr td:first-child').allInnerTexts(),
    );
    assert.equal(keys.filter((k) => k.startsWith('pk-')).length, n);
    const tenants = await pageThrough('Tenant pages', () =>
      region('Tenants').getByRole('listitem').allInnerTexts(),
    );
    assert.equal(tenants.filter((t) => t.startsWith('pt-')).length, n);
    const servers = await pageThrough('MCP server pages', () =>
      region('MCP servers').getByRole('listitem').locator('strong').allInnerTexts(),
    );
    assert.deepEqual(
      servers,
      Array.from({ length: n }, (_, i) => `pm-${String(i).padStart(2, '0')}`),
    );

    await page.getByRole('link', { name: 'Tasks' }).click();
    await page.getByRole('link', { name: 'Schedules' }).click();
    const schedules = await pageThrough('Schedule pages', () =>
      page.locator('tbody tr td:first-child').allInnerTexts(),
    );
    assert.equal(schedules.filter((x) => x.startsWith('ps-')).length, n);
    await page.getByRole('link', { name: 'Knowledge' }).click();
    const kbs = await pageThrough('Knowledge base pages', () =>
      page.locator('tbody tr td:first-child').allInnerTexts(),
    );
    assert.equal(kbs.filter((x) => x.startsWith('pkb-')).length, n);
    assert.deepEqual(errors, []);
    await close(page);
  });
});
