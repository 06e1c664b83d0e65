import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import axe from 'axe-core';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, signedInTab } from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { createAgent } from '../runtime/helpers.ts';

/** The review pages: the annotation queues, and a reviewer working through one by keyboard alone. */
describe('web console: annotation queues and the reviewer page', () => {
  let s: TestServer;
  let browser: Browser;
  let tab: Awaited<ReturnType<typeof signedInTab>>;
  let queueId: string;
  const ITEMS = 8;

  /** axe's serious and critical findings, and no sideways overflow at 390 px. */
  const accessible = async (page: Page, path: string) => {
    await page.addScriptTag({ content: axe.source });
    const findings = () =>
      page.evaluate(
        `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations
          .filter((v) => v.impact === 'serious' || v.impact === 'critical')
          .map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`,
      ) as Promise<string[]>;
    assert.deepEqual(await findings(), [], `${path} wide`);
    await page.setViewportSize({ width: 390, height: 800 });
    assert.deepEqual(await findings(), [], `${path} at 390 px`);
    const wide = (await page.evaluate('document.documentElement.scrollWidth')) as number;
    assert.ok(wide <= 390, `${path} is ${wide} px wide at 390 px`);
    await page.setViewportSize({ width: 1280, height: 900 });
  };

  before(async () => {
    [s, browser] = await Promise.all([startServer('pglite'), launchBrowser()]);
    const agent = await createAgent(s, { name: 'answers', model: 'mock/default' });
    const runs: string[] = [];
    for (let i = 0; i < ITEMS; i++) {
      const chat = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
        body: { message: `question ${i}`, stream: false },
      });
      assert.equal(chat.status, 200, chat.text);
      runs.push(chat.body.run_id);
    }
    for (const body of [
      { name: 'quality', kind: 'numeric', min: 1, max: 5, description: '1 to 5' },
      { name: 'correct', kind: 'boolean' },
    ])
      assert.equal((await s.request('POST', '/v1/score-configs', { body })).status, 201);
    const q = await s.request('POST', '/v1/annotation-queues', {
      body: { name: 'answers to check', score_configs: ['quality', 'correct'] },
    });
    assert.equal(q.status, 201, q.text);
    queueId = q.body.id;
    const filled = await s.request('POST', `/v1/annotation-queues/${queueId}/items`, {
      body: { run_ids: runs },
    });
    assert.equal(filled.body.added, ITEMS, filled.text);
    tab = await signedInTab(browser, s.url, s.adminKey, { width: 1280, height: 900 }, true);
    tab.page.setDefaultTimeout(30_000);
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('lists the queues with their counts, and is readable at 390 px', async () => {
    const { page, errors } = await tab.open('/review');
    const row = page.getByRole('row', { name: /answers to check/ });
    await row.waitFor();
    assert.match(await row.innerText(), new RegExp(`${ITEMS}\\s+0\\s+0\\s+0`));
    await accessible(page, '/review');
    await row.getByRole('link', { name: 'answers to check' }).click();
    await page.getByRole('heading', { level: 1, name: 'answers to check' }).waitFor();
    await page.getByRole('article', { name: 'Item under review' }).waitFor();
    await accessible(page, `/review/${queueId}`);
    assert.deepEqual(errors, []);
  });

  it('reviews items by keyboard alone: digits score, Enter submits, s skips, and says when none is left', async () => {
    const { page, errors } = await tab.open(`/review/${queueId}`);
    const article = page.getByRole('article', { name: 'Item under review' });
    const current = async (before?: string | null) => {
      // The next item is on screen when the article names another item than before.
      await page
        .locator(before ? `article[data-item]:not([data-item="${before}"])` : 'article[data-item]')
        .waitFor();
      return article.getAttribute('data-item');
    };
    let item = await current();
    const submitted = ITEMS - 1;
    const started = performance.now();
    for (let i = 0; i < submitted; i++) {
      // quality (1–5) by its digit, then correct: 1 (true) or 0 (false).
      await page.keyboard.press(String(1 + (i % 5)));
      await page.keyboard.press(i % 2 ? '0' : '1');
      await page.keyboard.press('Enter');
      item = await current(item);
    }
    const minutes = (performance.now() - started) / 60_000;
    console.log(
      `reviewer throughput: ${submitted} items by keyboard in ${(minutes * 60).toFixed(1)} s = ${(submitted / minutes).toFixed(0)} items/min`,
    );
    // Enter does nothing until every config has a value; s skips.
    await page.keyboard.press('3');
    await page.keyboard.press('Enter');
    await page.keyboard.press('s');
    await page.getByRole('heading', { name: 'Nothing left to review' }).waitFor();

    const progress = await s.request('GET', `/v1/annotation-queues/${queueId}/progress`);
    assert.equal(progress.body.done, submitted, progress.text);
    assert.equal(progress.body.skipped, 1);
    assert.equal(progress.body.pending, 0);
    const items = (await s.request('GET', `/v1/annotation-queues/${queueId}/items?status=done`)).body.data;
    const scores = await s.request('GET', `/v1/runs/${items[1].run_id}/scores`);
    assert.deepEqual(
      scores.body.data.map((x: { name: string; value: number }) => [x.name, x.value]),
      [
        ['quality', 2],
        ['correct', 0],
      ],
    );
    assert.deepEqual(errors, []);
  });
});
