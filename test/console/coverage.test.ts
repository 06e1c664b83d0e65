import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
// @ts-expect-error: a plain .mjs fixture, untyped
import { startHttpMcpServer } from '../fixtures/mcp/http-server.mjs';
import { launchBrowser, signedInTab } from '../helpers/browser.ts';
import { closedPort } from '../helpers/closed-port.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { utcDay } from '../helpers/utc-day.ts';
import { createAgent } from '../runtime/helpers.ts';
import { submitTask, taskSettled } from './tasks.ts';

/** Overview refresh, the task board with cancel and retry, MCP connection tests, usage charts and budgets. */
describe('web console: live overview, task board, MCP servers and usage', () => {
  let s: TestServer;
  let browser: Browser;
  let mcp: { url: string; close(): Promise<void> };
  let chatty: { id: string };
  let broken: { id: string };
  const budgets = { tokens_per_day: 1_000_000, cost_per_month: 100 };

  // One signed-in tab for every test of the file. The browser's own line for a failed load has no URL
  // (and the favicon it asks for is no request of the page): failed requests of the page are listed
  // with their URL instead.
  let tab: Awaited<ReturnType<typeof signedInTab>>;
  const failed: string[] = [];
  const open = async (path: string) => {
    failed.length = 0;
    const { page, errors: all } = await tab.open(path);
    const errors = () => [...all.filter((e) => !e.startsWith('console: Failed to load resource')), ...failed];
    return { page, errors };
  };
  const close = async (_page: Page) => {};

  const chat = async (message: string) => {
    const res = await s.request('POST', `/v1/agents/${chatty.id}/chat`, { body: { message, stream: false } });
    assert.equal(res.status, 200, res.text);
    return res.body.run_id as string;
  };
  const task = (agentId: string, title: string, extra?: Record<string, unknown>) =>
    submitTask(s, agentId, title, extra);
  const settled = (id: string, status: string) => taskSettled(s, id, status);

  before(async () => {
    [s, browser, mcp] = await Promise.all([
      // mock/default has no price of its own: one is set so the cost chart and budget have something to show.
      startServer('pglite', { models: { prices: { 'mock/default': { input: 1000, output: 2000 } } } }),
      launchBrowser(),
      startHttpMcpServer(),
    ]);
    // The MCP fixture is on loopback: the tenant may use private addresses; and it has budgets.
    const me = await s.app.services.tenants.find(s.app.defaultTenantId);
    s.app.services.policies.set({
      tenants: { [me!.name]: { network: { allow_private_egress: true }, budgets } },
    });
    chatty = await createAgent(s, { name: 'chatty', model: 'mock/default' });
    broken = await createAgent(s, { name: 'broken', model: 'nowhere/none' });
    tab = await signedInTab(browser, s.url, s.adminKey);
    tab.page.setDefaultTimeout(30_000);
    tab.page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico'))
        failed.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
    });
  });
  after(async () => {
    await browser?.close();
    await s?.close();
    await mcp?.close();
  });

  it('refreshes the overview by itself when runs and tasks are created, without a reload', async () => {
    const { page, errors } = await open('/');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByText('Nothing ran in the last hour').waitFor();
    let navigations = 0;
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) navigations++;
    });

    await chat('hello');
    await task(chatty.id, 'Later', { delay_seconds: 3600 });
    const card = (title: string) =>
      page.locator('.card', { has: page.getByRole('heading', { name: title, exact: true }) });
    // The page polls on its own (every 10 s): wait for the counts with a deadline.
    await card('Runs').locator('.big', { hasText: /^1$/ }).waitFor({ timeout: 25_000 });
    await card('Tasks').locator('.big', { hasText: /^1$/ }).waitFor({ timeout: 25_000 });
    const runs = page.getByRole('table', { name: 'Runs by outcome' });
    assert.equal(await runs.getByRole('row', { name: 'completed' }).getByRole('cell').innerText(), '1');
    const tasks = page.getByRole('table', { name: 'Tasks by outcome' });
    assert.equal(await tasks.getByRole('row', { name: 'pending' }).getByRole('cell').innerText(), '1');
    await card('Model calls')
      .locator('.big', { hasText: /^[1-9]/ })
      .waitFor({ timeout: 25_000 });

    // One more run: the count moves again, still on the same page.
    await chat('hello again');
    await card('Runs').locator('.big', { hasText: /^2$/ }).waitFor({ timeout: 25_000 });
    assert.equal(navigations, 0, 'the page was not reloaded');
    assert.deepEqual(errors(), []);
    await close(page);
  });

  it('shows tasks on the board by status, cancels a pending task and retries a failed one live', async () => {
    const later = await task(chatty.id, 'Board pending', { delay_seconds: 3600 });
    const done = await task(chatty.id, 'Board done');
    const doomed = await task(broken.id, 'Board doomed', { max_attempts: 1 });
    await settled(done, 'completed');
    await settled(doomed, 'failed');

    const { page, errors } = await open('/tasks');
    await page.getByRole('heading', { name: 'Tasks', exact: true }).waitFor();
    await page.getByRole('button', { name: 'board' }).click();
    assert.equal(await page.getByRole('button', { name: 'board' }).getAttribute('aria-pressed'), 'true');
    const column = (status: string) => page.getByRole('region', { name: status, exact: true });
    const where = { 'Board pending': 'pending', 'Board done': 'completed', 'Board doomed': 'failed' };
    for (const [title, status] of Object.entries(where)) {
      await column(status).getByRole('link', { name: title }).waitFor();
      for (const other of ['pending', 'in_progress', 'completed', 'failed', 'cancelled'])
        if (other !== status)
          assert.equal(
            await column(other).getByRole('link', { name: title }).count(),
            0,
            `${title} in ${other}`,
          );
    }

    // Cancel from the detail page: the badge and the timeline follow without a reload.
    await column('pending').getByRole('link', { name: 'Board pending' }).click();
    await page.getByRole('heading', { name: 'Board pending' }).waitFor();
    await page.locator('.page-head .badge', { hasText: 'pending' }).waitFor();
    await page.getByRole('button', { name: 'Cancel task' }).click();
    await page.locator('.page-head .badge', { hasText: 'cancelled' }).waitFor();
    await page.locator('.timeline').getByText('cancelled', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Retry task' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Cancel task' }).count(), 0);
    assert.equal((await s.request('GET', `/v1/tasks/${later}`)).body.status, 'cancelled');
    // And the board moves it to its column.
    await page.getByRole('link', { name: '← Tasks' }).click();
    await page.getByRole('button', { name: 'board' }).click();
    await column('cancelled').getByRole('link', { name: 'Board pending' }).waitFor();
    assert.equal(await column('pending').getByRole('link', { name: 'Board pending' }).count(), 0);

    // Retry the failed task: it runs again, and a second run (attempt) appears under it.
    await column('failed').getByRole('link', { name: 'Board doomed' }).click();
    await page.getByRole('heading', { name: 'Board doomed' }).waitFor();
    await page.getByText(/^Failed: /).waitFor();
    const runLinks = page.getByRole('link', { name: /^Run [0-9a-f]{8}$/ });
    await runLinks.first().waitFor();
    assert.equal(await runLinks.count(), 1);
    const firstRun = await runLinks.first().innerText();
    await page.getByRole('button', { name: 'Retry task' }).click();
    await page.locator('.timeline').getByText('retried', { exact: true }).waitFor();
    await runLinks.nth(1).waitFor();
    assert.equal(await runLinks.count(), 2);
    assert.ok((await runLinks.allInnerTexts()).includes(firstRun), 'the first attempt is still listed');
    // The new attempt fails like the first (its model does not exist), live on the page.
    await page.locator('.page-head .badge', { hasText: 'failed' }).waitFor();
    assert.equal(await page.locator('.timeline').getByText('failed', { exact: true }).count(), 2);
    const after = (await s.request('GET', `/v1/tasks/${doomed}`)).body;
    assert.equal(after.status, 'failed');
    assert.equal(after.attempts, 1, 'attempts were reset by the retry, then one more was made');
    const runs = (await s.request('GET', `/v1/runs?task_id=${doomed}`)).body.data;
    assert.equal(runs.length, 2);
    assert.deepEqual(errors(), []);
    await close(page);
  });

  it('adds MCP servers and tests their connection: tools of a reachable one, the reason for an unreachable one', async () => {
    const { page, errors } = await open('/settings');
    const panel = page.getByRole('region', { name: 'MCP servers' });
    await panel.getByText('No MCP servers').waitFor();

    await panel.getByLabel('Server name').fill('fixture');
    await panel.getByLabel('URL (Streamable HTTP)').fill(mcp.url);
    await panel.getByRole('button', { name: 'Add MCP server' }).click();
    // Adding tests it at once.
    const fixture = panel.getByRole('listitem').filter({ hasText: 'fixture' });
    await fixture.getByRole('status').getByText('connected').waitFor();
    const [registered] = (await s.request('GET', '/v1/mcp-servers')).body.data;
    const tools = (await s.request('POST', `/v1/mcp-servers/${registered.id}/test`)).body.tools as string[];
    assert.ok(tools.length > 0);
    const okText = await fixture.getByRole('status').innerText();
    assert.match(okText, new RegExp(`${tools.length} tools \\(${tools.join(', ')}\\)`));

    const port = await closedPort();
    await panel.getByLabel('Server name').fill('nowhere');
    await panel.getByLabel('URL (Streamable HTTP)').fill(`http://127.0.0.1:${port}/mcp`);
    await panel.getByRole('button', { name: 'Add MCP server' }).click();
    const nowhere = panel.getByRole('listitem').filter({ hasText: 'nowhere' });
    await nowhere.getByRole('status').getByText('unreachable').waitFor();
    const failText = await nowhere.getByRole('status').innerText();
    assert.match(failText, /^unreachable in .+: \S/, failText);
    assert.doesNotMatch(failText, /connected|tools \(/);

    // The test button asks again: the reachable one is still connected.
    await panel.getByRole('button', { name: 'Test fixture' }).click();
    await fixture.getByRole('status').getByText('connected').waitFor();
    await panel.getByRole('button', { name: 'Test nowhere' }).click();
    await nowhere.getByRole('status').getByText('unreachable').waitFor();
    assert.deepEqual(errors(), []);
    await close(page);
  });

  it('charts requests, tokens and cost after a few chat turns, and shows what remains of the budgets', async () => {
    // The days the chats may fall on (UTC), should the test straddle midnight.
    const from = utcDay();
    for (const m of ['one', 'two', 'three']) await chat(m);
    const to = utcDay();
    await s.app.services.models.flush();
    const usage = (await s.request('GET', `/v1/usage?from=${from}&to=${to}`)).body.data as {
      agent: string;
      requests: number;
      cost: number;
    }[];
    const requests = usage.filter((r) => r.agent === 'chatty').reduce((n, r) => n + r.requests, 0);
    assert.ok(requests >= 3, `${requests} model calls`);
    assert.ok(usage.reduce((n, r) => n + r.cost, 0) > 0, 'the calls cost something');

    const { page, errors } = await open('/usage');
    await page.getByRole('heading', { name: 'Usage', exact: true }).waitFor();
    for (const title of ['Requests', 'Tokens', 'Cost (USD)']) {
      const figure = page.getByRole('figure', { name: title });
      // The chart's text alternative carries the total per agent: chatty's calls are all there.
      const img = figure.getByRole('img', {
        name: new RegExp(`^${title.replace(/[()]/g, '\\$&')} over time: `),
      });
      const label = (await img.getAttribute('aria-label'))!;
      const total = Number(/chatty ([\d.e-]+)/.exec(label)?.[1]);
      assert.ok(total > 0, `${title}: ${label}`);
      // Runs of the earlier tests may still be calling chatty: the chart holds at least the calls
      // counted before it loaded and no more than the store holds after.
      if (title === 'Requests') {
        await s.app.services.models.flush();
        const after = (await s.request('GET', `/v1/usage?from=${from}&to=${utcDay()}`)).body
          .data as typeof usage;
        const most = after.filter((r) => r.agent === 'chatty').reduce((n, r) => n + r.requests, 0);
        assert.ok(total >= requests && total <= most, `${label}: ${requests}..${most} calls`);
      }
      // uPlot drew it on a canvas, and the series line rises above the zero line somewhere.
      assert.equal(await img.locator('canvas').count(), 1);
      const height = await seriesHeight(page, title);
      assert.ok(height > 10, `${title}: the line spans ${height} px rows, no peak`);
    }
    assert.ok(await page.getByRole('figure', { name: 'Errors' }).isVisible());

    const rows = (await s.request('GET', '/v1/usage/budgets')).body.data as {
      rule: string;
      limit: number;
      used: number;
      remaining: number;
    }[];
    const tokens = rows.find((b) => b.rule === 'tokens_per_day')!;
    assert.ok(tokens.used > 0 && tokens.remaining === tokens.limit - tokens.used, JSON.stringify(tokens));
    const table = page.getByRole('table');
    const tokensRow = table.getByRole('row', { name: /tokens_per_day/ });
    const cells = await tokensRow.getByRole('cell').allInnerTexts();
    assert.equal(cells[0], 'tenant');
    assert.equal(Number(cells[4]!.replace(/\D/g, '')), tokens.remaining, cells.join(' | '));
    assert.match(cells[3]!, /^\d[\d,.]*$/, 'what the limiter holds beside the usage');
    assert.match(cells[2]!, /of 1.000.000$/);
    const meter = tokensRow.getByRole('meter', { name: 'tokens_per_day used' });
    assert.equal(Number(await meter.getAttribute('value')), tokens.used);
    const cost = rows.find((b) => b.rule === 'cost_per_month')!;
    assert.ok(cost.used > 0 && cost.remaining < budgets.cost_per_month, JSON.stringify(cost));
    const costCells = await table
      .getByRole('row', { name: /cost_per_month/ })
      .getByRole('cell')
      .allInnerTexts();
    assert.match(costCells[4]!, /^\$\d+\.\d{2}$/);
    assert.equal(Number(costCells[4]!.slice(1)), Number(cost.remaining.toFixed(2)));
    assert.deepEqual(errors(), []);
    await close(page);
  });
});

/**
 * How many pixel rows the first series' colour spans on the canvas of the chart titled `title`: a
 * line at zero spans a few, a line with a value in one bucket rises to a peak.
 */
async function seriesHeight(page: Page, title: string): Promise<number> {
  // A string, not a function: the tests are type-checked without the DOM library.
  return (await page.evaluate(`(() => {
    const figure = [...document.querySelectorAll('figure')]
      .find((f) => f.querySelector('figcaption')?.textContent === ${JSON.stringify(title)});
    const c = figure.querySelector('canvas');
    const { width, height } = c;
    const px = c.getContext('2d').getImageData(0, 0, width, height).data;
    let top = height, bottom = -1;
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 4;
        // The first palette colour, #0a58ca, allowing for anti-aliasing.
        if (px[i + 3] > 200 && Math.abs(px[i] - 10) + Math.abs(px[i + 1] - 88) + Math.abs(px[i + 2] - 202) < 60) {
          if (y < top) top = y;
          bottom = y;
        }
      }
    return bottom < 0 ? 0 : bottom - top + 1;
  })()`)) as number;
}
