import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, openFresh, openSignedIn } from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/**
 * Every page's state that matters is in its URL (issue 66, point 5): a reload, or the link sent to
 * someone, opens the page as it was left: the task board and its filters, the versions a diff
 * compares, the usage view, the agents' search, the runs' time window.
 */
describe('web console: page state in the URL', () => {
  let s: TestServer;
  let browser: Browser;
  before(async () => {
    [s, browser] = await Promise.all([startServer('pglite'), launchBrowser()]);
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  const open = (path: string) => openFresh(browser, s.url, s.adminKey, path);
  const query = (url: string) => Object.fromEntries(new URL(url).searchParams);

  it('the task board and its filters survive a reload, and a link opens them', async () => {
    const { body: agent } = await s.request('POST', '/v1/agents', {
      body: { name: 'clerk', model: 'mock/default' },
    });
    const { page, errors } = await open('/tasks');
    await page
      .getByRole('form', { name: 'Filter tasks' })
      .getByLabel('Agent')
      .selectOption({ label: 'clerk' });
    await page.getByLabel('Created').selectOption('24h');
    await page.getByRole('button', { name: 'board' }).click();
    await page.waitForURL((u) => u.searchParams.get('view') === 'board');
    assert.deepEqual(query(page.url()), { agent: agent.id, window: '24h', view: 'board' });
    await page.reload();
    await page.getByRole('button', { name: 'board', pressed: true }).waitFor();
    assert.equal(await page.getByLabel('Created').inputValue(), '24h');
    // The agent picker's options arrive with the agents list, after the page is drawn: until then
    // the picker has no option for the URL's agent and reads as none.
    const agentPicker = page.getByRole('form', { name: 'Filter tasks' }).getByLabel('Agent');
    await agentPicker.locator('option', { hasText: 'clerk' }).waitFor({ state: 'attached' });
    assert.equal(await agentPicker.inputValue(), agent.id);

    // A link with a list filter opens on it; a value the page does not know reads as the default.
    await page.goto(`${s.url}/tasks?status=failed&view=nonsense`);
    await page.getByRole('button', { name: 'list', pressed: true }).waitFor();
    assert.equal(await page.getByLabel('Status').inputValue(), 'failed');
    assert.deepEqual(errors, []);
  });

  it('the versions a diff compares are in its URL, so the diff can be linked', async () => {
    const { body: a } = await s.request('POST', '/v1/agents', {
      body: { name: 'versioned', model: 'mock/default' },
    });
    await s.request('PATCH', `/v1/agents/${a.id}`, { body: { description: 'second' } });
    const { page, errors } = await open(`/agents/${a.id}/versions`);
    await page.getByRole('radio', { name: 'from version 1' }).check();
    await page.getByRole('radio', { name: 'to version 2' }).check();
    await page.getByRole('heading', { name: 'Version 1 → 2' }).waitFor();
    assert.deepEqual(query(page.url()), { from: '1', to: '2' });
    const other = await (await browser.newContext()).newPage();
    await openSignedIn(other, s.url, s.adminKey, `/agents/${a.id}/versions?from=1&to=2`);
    await other.getByRole('heading', { name: 'Version 1 → 2' }).waitFor();
    assert.equal(await other.getByRole('radio', { name: 'from version 1' }).isChecked(), true);
    assert.deepEqual(errors, []);
  });

  it('the usage view, the agents search and the runs window are in their URLs', async () => {
    const { page, errors } = await open('/usage');
    await page.getByLabel('Range').selectOption('7d');
    await page.waitForURL((u) => u.searchParams.get('range') === '7d');
    await page.reload();
    assert.equal(await page.getByLabel('Range').inputValue(), '7d');

    await page.goto(`${s.url}/agents`);
    await page.getByLabel('Search by name').fill('clerk');
    await page.waitForURL((u) => u.searchParams.get('name') === 'clerk');
    await page.reload();
    assert.equal(await page.getByLabel('Search by name').inputValue(), 'clerk');

    await page.goto(`${s.url}/runs`);
    await page.getByLabel('Started').selectOption('1h');
    await page.waitForURL((u) => u.searchParams.get('window') === '1h');
    assert.deepEqual(errors, []);
  });
});
