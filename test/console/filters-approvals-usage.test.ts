import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createTenant } from '../auth/fixtures.ts';
import { collectPageErrors, launchBrowser, openSignedIn } from '../helpers/browser.ts';
import { eventually } from '../helpers/eventually.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { createAgent } from '../runtime/helpers.ts';
import { submitTask, taskSettled } from './tasks.ts';

/**
 * The task list's status filter, a task's callback deliveries, Deny on an approval and usage per model
 * and per tenant. One sign-in and one tab for the whole file: each test goes on from where the last
 * one left the console, as a user would, which spares a browser context and a sign-in per test.
 */
describe('web console: task filters, callback deliveries, a denied approval, usage per model and tenant, sessions and teams in pages', () => {
  let s: TestServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  const pageErrors = () => errors.filter((e) => !e.startsWith('console: Failed to load resource'));
  let receiver: Server;
  let receiverUrl: string;
  let chatty: { id: string };
  let broken: { id: string };

  const task = (agentId: string, title: string, extra?: Record<string, unknown>) =>
    submitTask(s, agentId, title, extra);
  const settled = (id: string, status: string) => taskSettled(s, id, status);
  /** Follows a link of the navigation: the page changes without a reload, as a user's click does. */
  const go = async (link: string, heading: string) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: link }).click();
    await page.getByRole('heading', { name: heading, exact: true }).waitFor();
  };

  before(async () => {
    // The webhook receiver is the outside world: a real HTTP server on loopback answering 200.
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end('ok'));
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    [s, browser] = await Promise.all([startServer('pglite'), launchBrowser()]);
    const me = await s.app.services.tenants.find(s.app.defaultTenantId);
    s.app.services.policies.set({ tenants: { [me!.name]: { network: { allow_private_callbacks: true } } } });
    chatty = await createAgent(s, { name: 'chatty', model: 'mock/default' });
    broken = await createAgent(s, { name: 'broken', model: 'nowhere/none' });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    page.setDefaultTimeout(30_000);
    // The favicon the browser asks for is no request of the page: its 404 line is left out.
    const all = collectPageErrors(page);
    errors = all;
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico'))
        all.push(`${r.status()} ${new URL(r.url()).pathname}`);
    });
    await openSignedIn(page, s.url, s.adminKey, '/');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
  });
  after(async () => {
    await browser?.close();
    await s?.close();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('filters the task list by status', async () => {
    const done = await task(chatty.id, 'Filter done');
    const doomed = await task(broken.id, 'Filter doomed', { max_attempts: 1 });
    await task(chatty.id, 'Filter later', { delay_seconds: 3600 });
    await settled(done, 'completed');
    await settled(doomed, 'failed');
    await go('Tasks', 'Tasks');
    const list = page.getByRole('list', { name: 'Tasks' });
    for (const title of ['Filter done', 'Filter doomed', 'Filter later'])
      await list.getByRole('link', { name: title }).waitFor();
    const shows = async (status: string, title: string) => {
      await page.getByLabel('Status').selectOption(status);
      await list.getByRole('link', { name: title }).waitFor();
      await eventually(
        async () => ((await list.getByRole('link').count()) === 1 ? true : undefined),
        30_000,
        `only ${title} under ${status}`,
      );
    };
    await shows('failed', 'Filter doomed');
    await shows('completed', 'Filter done');
    await shows('pending', 'Filter later');
    await page.getByLabel('Status').selectOption('');
    await list.getByRole('link', { name: 'Filter doomed' }).waitFor();
    assert.deepEqual(pageErrors(), []);
  });

  it("shows a task's callback deliveries: the URL, the attempts, the receiver's status", async () => {
    const id = await task(chatty.id, 'Filter with callback', { callback_url: receiverUrl });
    await settled(id, 'completed');
    await eventually(
      async () => {
        const c = await s.request('GET', `/v1/tasks/${id}/callbacks`);
        return c.body.data[0]?.delivered_at ? true : undefined;
      },
      15_000,
      'the callback delivered',
    );
    await page
      .getByRole('list', { name: 'Tasks' })
      .getByRole('link', { name: 'Filter with callback' })
      .click();
    await page.getByRole('heading', { name: 'Callback deliveries' }).waitFor();
    const row = page.getByRole('row').filter({ hasText: receiverUrl });
    await row.getByText(/^delivered /).waitFor();
    const cells = await row.getByRole('cell').allInnerTexts();
    assert.deepEqual(cells.slice(0, 3), [receiverUrl, '1', '200']);
    assert.deepEqual(pageErrors(), []);
  });

  it('denies a tool call in the playground: the card says denied and the run goes on to its end', async () => {
    const careful = await createAgent(s, {
      name: 'careful',
      model: 'mock/default',
      mode: 'COLLABORATIVE',
      tools: ['write_file'],
    });
    await go('Playground', 'Playground');
    await page.getByLabel('Agent').selectOption({ label: 'careful' });
    const box = page.getByLabel('Message to careful');
    await box.fill('use the write_file tool {"path": "nope.txt", "content": "should not be written"}');
    await box.press('Enter');
    const log = page.getByRole('log', { name: 'Conversation' });
    const card = log.getByRole('article', { name: 'Tool call write_file' });
    await card.getByText('waiting for approval').waitFor();
    await page.getByRole('group', { name: 'Approval needed' }).getByRole('button', { name: 'Deny' }).click();
    await card.getByText(/· denied/).waitFor();
    await card.getByText(/the user denied this tool call/).waitFor();
    await page.getByRole('group', { name: 'Approval needed' }).waitFor({ state: 'detached' });
    const runs = await s.request('GET', `/v1/runs?agent_id=${careful.id}`);
    const run = runs.body.data[0];
    await eventually(
      async () =>
        (await s.request('GET', `/v1/runs/${run.id}`)).body.status === 'completed' ? true : undefined,
      15_000,
      'the denied run goes on to its end',
    );
    assert.deepEqual(pageErrors(), []);
  });

  it('charts usage per model and per tenant, every tenant for the root admin', async () => {
    const other = await createTenant(s, 'globex');
    const made = await s.request('POST', '/v1/agents', {
      key: other.adminKey,
      body: { name: 'theirs', model: 'mock/default' },
    });
    assert.equal(made.status, 201, made.text);
    const theirs = made.body as { id: string };
    for (const [agent, key] of [
      [chatty.id, s.adminKey],
      [chatty.id, s.adminKey],
      [theirs.id, other.adminKey],
    ] as const) {
      const res = await s.request('POST', `/v1/agents/${agent}/chat`, {
        key,
        body: { message: 'hi', stream: false },
      });
      assert.equal(res.status, 200, res.text);
    }
    await s.app.services.models.flush();
    await go('Usage', 'Usage');
    const requests = page.getByRole('figure', { name: 'Requests' }).getByRole('img');
    const label = async (pattern: RegExp) => {
      await eventually(
        async () => (pattern.test((await requests.getAttribute('aria-label')) ?? '') ? true : undefined),
        30_000,
        `the Requests chart says ${pattern}`,
      );
      return (await requests.getAttribute('aria-label'))!;
    };
    await page.getByLabel('Per').selectOption('model');
    assert.match(await label(/mock\/default \d/), /mock\/default [1-9]/);
    await page.getByLabel('Per').selectOption('tenant');
    const own = await label(/default \d/);
    assert.doesNotMatch(own, /globex/, 'one tenant until asked for every one');
    await page.getByLabel('every tenant').check();
    const all = await label(/globex \d/);
    assert.match(all, /globex 1\b/);
    assert.match(all, /default [1-9]/);

    // In the dark scheme the axes are drawn again in its light text colour: a canvas cannot use
    // `currentColor` or a CSS variable, and drew black labels on the dark page.
    await page.emulateMedia({ colorScheme: 'dark' });
    try {
      await page.locator('[data-scheme="dark"]').first().waitFor();
      const light = (await page.evaluate(`(() => {
        const canvas = document.querySelector('figure.chart canvas');
        const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        let n = 0;
        for (let i = 0; i < data.length; i += 4)
          if (data[i + 3] > 128 && Math.min(data[i], data[i + 1], data[i + 2]) > 180) n++;
        return n;
      })()`)) as number;
      assert.ok(light > 50, `${light} light pixels (axis labels) on the dark chart`);
    } finally {
      await page.emulateMedia({ colorScheme: 'light' });
    }
    assert.deepEqual(pageErrors(), []);
  });

  it("pages the playground's sessions and the teams' tabs; a team opened by URL off the first page still opens", async () => {
    for (let i = 0; i < 21; i++) {
      const res = await s.request('POST', `/v1/agents/${chatty.id}/chat`, {
        body: { message: `session ${i}`, stream: false },
      });
      assert.equal(res.status, 200, res.text);
    }
    await go('Playground', 'Playground');
    await page.getByLabel('Agent').selectOption({ label: 'chatty' });
    const sidebar = page.getByRole('complementary', { name: 'Sessions' });
    const sessionPager = sidebar.getByRole('navigation', { name: 'Session pages' });
    await sessionPager.getByText(/^1–20 of \d+$/).waitFor();
    const total = Number((await sessionPager.locator('span').innerText()).split(' of ')[1]);
    assert.ok(total >= 21, `${total} sessions`);
    // Newest first: the first session made is on the last page.
    assert.equal(await sidebar.getByRole('button', { name: 'session 0', exact: true }).count(), 0);
    await sessionPager.getByRole('button', { name: 'Next' }).click();
    await sidebar.getByRole('button', { name: 'session 0', exact: true }).waitFor();

    let last = '';
    for (let i = 0; i < 26; i++) {
      const res = await s.request('POST', '/v1/multi-agents', {
        body: { name: `crew-${String(i).padStart(2, '0')}`, kind: 'swarm', members: [chatty.id, broken.id] },
      });
      assert.equal(res.status, 201, res.text);
      last = res.body.id;
    }
    await go('Teams', 'Teams');
    const tabs = page.getByRole('navigation', { name: 'Teams' });
    const teamPager = page.getByRole('navigation', { name: 'Team pages' });
    await teamPager.getByText('1–25 of 26').waitFor();
    assert.equal(await tabs.getByRole('button').count(), 25);
    await teamPager.getByRole('button', { name: 'Next' }).click();
    await teamPager.getByText('26–26 of 26').waitFor();
    assert.equal(await tabs.getByRole('button').count(), 1);
    // By URL, on the first page of tabs: the team not among them opens all the same.
    await page.goto(`${s.url}/teams?team=${last}`);
    const name = (await s.request('GET', `/v1/multi-agents/${last}`)).body.name as string;
    await teamPager.getByText('1–25 of 26').waitFor();
    await page.getByText(name).first().waitFor();
    assert.deepEqual(pageErrors(), []);
  });
});
