import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import axe from 'axe-core';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, signedInTab } from '../helpers/browser.ts';
import { eventually } from '../helpers/eventually.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { addDoc, createKb } from '../memory/fixtures.ts';
import { createAgent } from '../runtime/helpers.ts';

/**
 * The run trace read as a conversation and moved through by keyboard, the runs list's search, total
 * and live tail, and a knowledge document opened and deleted: in a real browser against a real server.
 */
describe('web console: a readable trace, runs search and tail, a knowledge document', () => {
  let s: TestServer;
  let browser: Browser;
  let tab: Awaited<ReturnType<typeof signedInTab>>;
  let calc: { id: string };
  let jsonAgent: { id: string };
  let toolRun: string;

  const chat = async (agentId: string, message: string) => {
    const res = await s.request('POST', `/v1/agents/${agentId}/chat`, { body: { message, stream: false } });
    assert.equal(res.status, 200, res.text);
    return res.body as { run_id: string; session_id: string };
  };
  const axeSerious = (page: Page) =>
    page.evaluate(
      `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`,
    ) as Promise<string[]>;

  before(async () => {
    [s, browser] = await Promise.all([startServer('pglite'), launchBrowser()]);
    calc = await createAgent(s, {
      name: 'calc',
      tools: ['calculator'],
      system_prompt: 'You add up numbers for the heron survey.',
    });
    jsonAgent = await createAgent(s, { name: 'counter', response_format: { type: 'json_object' } });
    await createAgent(s, {
      name: 'summarizer',
      task_types: [
        {
          name: 'summarize',
          input_schema: { type: 'object', required: ['text'], properties: { text: { type: 'string' } } },
        },
      ],
    });
    toolRun = (await chat(calc.id, 'use the calculator tool on (2 + 3) * 4')).run_id;
    await chat(calc.id, 'the blue heron at dawn');
    // axe is injected as a script tag, which the console's CSP refuses: this tab bypasses it.
    tab = await signedInTab(browser, s.url, s.adminKey, { width: 1280, height: 900 }, true);
    tab.page.setDefaultTimeout(30_000);
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('shows a run as a conversation: system prompt, message, answer, tool call with arguments and result', async () => {
    const { page, errors } = await tab.open(`/runs/${toolRun}`);
    await page.getByRole('heading', { name: /^Run / }).waitFor();
    // The run's input and output are in its header.
    assert.match(
      await page.locator('dl.facts').first().innerText(),
      /use the calculator tool on \(2 \+ 3\) \* 4/,
    );
    // A time axis marks the waterfall from zero to the run's length.
    assert.equal(await page.locator('.axis .ticks span').count(), 5);
    await page.getByRole('button', { name: 'Conversation' }).click();
    const talk = page.getByRole('list', { name: 'Conversation' });
    await talk.getByText('System prompt').click();
    await talk.getByText('You add up numbers for the heron survey.').waitFor();
    await talk.getByText('use the calculator tool on (2 + 3) * 4').waitFor();
    const call = talk.locator('.tool-call');
    await call.getByText('calculator').waitFor();
    assert.match(await call.innerText(), /\(2 \+ 3\) \* 4[\s\S]*Result\s+20/);
    // A tool call's "step" opens it in the waterfall, its detail beside it.
    await call.getByRole('button', { name: 'step' }).click();
    await page
      .getByRole('region', { name: 'Step detail' })
      .getByRole('heading', { name: /tool: calculator/ })
      .waitFor();
    assert.deepEqual(errors, []);
  });

  it('moves between steps with the arrow keys and j/k, focus following the current step', async () => {
    const { page } = await tab.open(`/runs/${toolRun}`);
    const steps = page.getByRole('list', { name: 'Waterfall' }).getByRole('button');
    await steps.first().waitFor();
    const n = await steps.count();
    assert.ok(n >= 3, `${n} steps`);
    const current = () => page.locator('.waterfall button[aria-current="true"]');
    await steps.first().click();
    await page.keyboard.press('ArrowDown');
    await eventually(async () => ((await current().innerText()).includes('calculator') ? true : undefined));
    // Focus follows once the step is drawn as current (an effect after that render): wait on it.
    await eventually(
      async () =>
        (await page.evaluate('document.activeElement.getAttribute("aria-current")')) === 'true' || undefined,
    );
    await page.keyboard.press('End');
    await eventually(
      async () => (await steps.nth(n - 1).getAttribute('aria-current')) === 'true' || undefined,
    );
    await page.keyboard.press('k');
    await eventually(
      async () => (await steps.nth(n - 2).getAttribute('aria-current')) === 'true' || undefined,
    );
    await page.keyboard.press('Home');
    await eventually(async () => (await steps.first().getAttribute('aria-current')) === 'true' || undefined);
    // One tab stop for the whole list: the others are reached by the keys.
    assert.equal(await page.locator('.waterfall button[tabindex="0"]').count(), 1);
  });

  it('links a run to its Playground session and each message there back to its run', async () => {
    const { page, errors } = await tab.open(`/runs/${toolRun}`);
    await page.getByRole('link', { name: 'Open in Playground' }).click();
    const user = page.locator('.bubble.user').filter({ hasText: 'use the calculator tool' });
    await user.getByRole('link', { name: 'Run trace' }).click();
    await page.waitForURL(`**/runs/${toolRun}`);
    await page.getByRole('heading', { name: `Run ${toolRun.slice(-8)}` }).waitFor();
    assert.deepEqual(errors, []);
  });

  it('searches runs by text with a total, and follows new runs live', async () => {
    const { page, errors } = await tab.open('/runs');
    await page.locator('.page-head').getByText('2 in all', { exact: true }).waitFor();
    await page.getByLabel('Search').fill('HERON');
    await page.locator('.page-head').getByText('1 in all', { exact: true }).waitFor();
    assert.equal(await page.getByRole('table').locator('tbody tr').count(), 1);
    await page.getByLabel('Search').fill('');
    await page.locator('.page-head').getByText('2 in all', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Follow new runs' }).click();
    await page.getByRole('button', { name: 'Following new runs', pressed: true }).waitFor();
    assert.match(page.url(), /live=1/);
    // The tail has answered (it counts from the newest run then) before the run it should bring is made.
    await page.getByRole('status').getByText('Following: no new run yet').waitFor();
    const fresh = await chat(calc.id, 'a run made while the list is followed');
    await page.getByRole('status').getByText('1 new run since the page opened').waitFor();
    await page.getByRole('link', { name: fresh.run_id.slice(-8) }).waitFor();
    await page.locator('.page-head').getByText('3 in all', { exact: true }).waitFor();
    assert.deepEqual(errors, []);
    await page.addScriptTag({ content: axe.source });
    assert.deepEqual(await axeSerious(page), []);
  });

  it("shows each run's input, output, version and scores, filters by a score, and adds the chosen runs to a dataset", async () => {
    const heron = (await s.request('GET', '/v1/runs?q=heron')).body.data[0].id as string;
    for (const [run, value] of [
      [toolRun, 0.9],
      [heron, 0.2],
    ] as const) {
      const scored = await s.request('POST', `/v1/runs/${run}/scores`, { body: { name: 'helpful', value } });
      assert.equal(scored.status, 201, scored.text);
    }
    const dataset = await s.request('POST', '/v1/datasets', { body: { name: 'picked' } });
    assert.equal(dataset.status, 201, dataset.text);

    const { page, errors } = await tab.open('/runs');
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: toolRun.slice(-8) }) });
    await row.getByText('helpful 0.9').waitFor();
    const cells = await row.locator('td').allInnerTexts();
    assert.ok(cells.includes('use the calculator tool on (2 + 3) * 4'), cells.join(' | '));
    assert.ok(
      cells.some((c) => /^calc v1$/.test(c.trim())),
      cells.join(' | '),
    );

    await page.getByLabel('Score', { exact: true }).fill('helpful');
    await page.getByLabel('Score at least').fill('0.5');
    await page.locator('.page-head').getByText('1 in all', { exact: true }).waitFor();
    assert.match(page.url(), /score_name=helpful/);
    assert.match(page.url(), /score_min=0\.5/);

    await row.getByRole('checkbox').check();
    const bulk = page.getByRole('form', { name: 'Add the chosen runs to a dataset' });
    await bulk.getByText('1 run chosen').waitFor();
    await bulk.getByRole('button', { name: 'Add to dataset' }).click();
    await bulk.getByText('Choose a dataset.').waitFor();
    await bulk.getByLabel('Dataset').selectOption({ label: 'picked' });
    await bulk.getByRole('button', { name: 'Add to dataset' }).click();
    await bulk.getByRole('status').getByText('1 added to picked.').waitFor();
    const items = await s.request('GET', `/v1/datasets/${dataset.body.id}/items`);
    assert.equal(items.body.data.length, 1, items.text);
    assert.match(JSON.stringify(items.body.data[0].input), /use the calculator tool/);
    assert.deepEqual(errors, []);
  });

  it('has no serious accessibility violation on the conversation, wide and at 390 px, nor wider than a phone', async () => {
    for (const width of [1280, 390]) {
      const { page } = await tab.open(`/runs/${toolRun}`);
      await page.setViewportSize({ width, height: 900 });
      await page.getByRole('button', { name: 'Conversation' }).click();
      await page.getByRole('list', { name: 'Conversation' }).waitFor();
      await page.addScriptTag({ content: axe.source });
      assert.deepEqual(await axeSerious(page), [], `${width} px`);
      await page.emulateMedia({ colorScheme: 'dark' });
      assert.deepEqual(await axeSerious(page), [], `${width} px, dark`);
      await page.emulateMedia({ colorScheme: 'light' });
      const wide = (await page.evaluate('document.documentElement.scrollWidth')) as number;
      assert.ok(wide <= width, `${wide} px wide at ${width} px`);
    }
    await tab.page.setViewportSize({ width: 1280, height: 900 });
  });

  it('creates a task with every field the API takes: JSON payload, priority, run at, attempts, callback, idempotency key', async () => {
    const { page, errors } = await tab.open('/tasks/new');
    // Disabled, and saying why.
    const create = page.getByRole('button', { name: 'Create task' });
    assert.equal(await create.isDisabled(), true);
    await page.getByText('Choose an agent first.').waitFor();
    await page.getByLabel('Agent').selectOption({ label: 'summarizer' });
    await page.getByLabel('Title *').fill('Summarise later');
    await page.getByLabel('Edit as JSON').check();
    await page.getByLabel('Payload JSON').fill('{"text": ');
    await page.getByLabel('Priority').fill('5000');
    await page.getByLabel('Callback URL').fill('ftp://example.test/hook');
    await create.click();
    // Each error beside its field, the input kept.
    await page
      .locator('.field', { hasText: 'Payload JSON' })
      .getByText(/not valid JSON/)
      .waitFor();
    await page
      .locator('.field', { hasText: 'Priority' })
      .getByText('a whole number from -1000 to 1000')
      .waitFor();
    await page.locator('.field', { hasText: 'Callback URL' }).getByText('an http(s) URL').waitFor();
    assert.equal(await page.getByLabel('Priority').inputValue(), '5000');
    // The server checks the payload against the type's schema: its refusal is said beside the JSON.
    await page.getByLabel('Payload JSON').fill('{"words": 3}');
    await page.getByLabel('Priority').fill('7');
    await page.getByLabel('Callback URL').fill('');
    await create.click();
    await page.locator('.field', { hasText: 'Payload JSON' }).getByText(/text/).waitFor();
    await page.getByLabel('Payload JSON').fill('{"text": "the heron report"}');
    await page.getByLabel('Run at').fill('2099-01-02T03:04');
    await page.getByLabel('Attempts').fill('2');
    await page.getByLabel('Idempotency key').fill('heron-1');
    await create.click();
    await page.waitForURL(/\/tasks\/[0-9a-f-]{36}$/);
    const id = new URL(page.url()).pathname.split('/').pop()!;
    const task = await s.request('GET', `/v1/tasks/${id}`);
    assert.deepEqual(task.body.payload, { text: 'the heron report' });
    assert.equal(task.body.priority, 7);
    assert.equal(task.body.max_attempts, 2);
    assert.equal(task.body.idempotency_key, 'heron-1');
    assert.equal(new Date(task.body.run_at).getUTCFullYear(), 2099);
    assert.deepEqual(
      errors.filter((e) => !e.startsWith('console: Failed to load resource')),
      [],
    );
  });

  it('opens a knowledge document with its chunks and deletes it after asking', async () => {
    const kb = await createKb(s, 'handbook');
    const doc = await addDoc(s, kb.id, {
      source: 'refunds.md',
      content: '# Refunds\n\nCustomers get a refund within 30 days of purchase.\n',
    });
    await addDoc(s, kb.id, { source: 'shipping.md', content: '# Shipping\n\nParcels leave within a day.\n' });
    const { page, errors } = await tab.open(`/knowledge/${kb.id}`);
    await page.getByRole('link', { name: 'refunds.md' }).click();
    await page.getByRole('heading', { name: /refunds/i, level: 1 }).waitFor();
    const chunks = page.getByRole('list', { name: 'Chunks' });
    await chunks.getByText('Customers get a refund within 30 days of purchase.').waitFor();
    await page.addScriptTag({ content: axe.source });
    assert.deepEqual(await axeSerious(page), [], 'document view');
    await page.getByRole('link', { name: '← handbook' }).click();
    await page.getByRole('button', { name: 'Delete refunds.md' }).click();
    const ask = page.getByRole('alertdialog');
    await ask.getByText(/Delete the document refunds\.md and its chunks from handbook\?/).waitFor();
    await ask.getByRole('button', { name: 'Delete refunds.md' }).click();
    await eventually(async () =>
      (await page.getByRole('link', { name: 'refunds.md' }).count()) === 0 ? true : undefined,
    );
    await page.getByRole('link', { name: 'shipping.md' }).waitFor();
    const gone = await s.request('GET', `/v1/knowledge-bases/${kb.id}/documents/${doc.document.id}`);
    assert.equal(gone.status, 404);
    assert.deepEqual(errors, []);
  });

  // Last: its run would change the runs list's counts above.
  it("shows the tool a model step asked for, with its arguments, the run's version and a JSON answer formatted", async () => {
    const { page, errors } = await tab.open(`/runs/${toolRun}`);
    const steps = page.getByRole('list', { name: 'Waterfall' }).getByRole('button');
    await steps.first().waitFor();
    // The first model call is the one that asked for the calculator.
    await steps.filter({ hasText: 'model ·' }).first().click();
    const detail = page.getByRole('region', { name: 'Step detail' });
    await detail.getByRole('heading', { name: 'Tools asked for' }).waitFor();
    const asked = await detail.locator('h3:text("Tools asked for") + ul li').first().innerText();
    assert.match(asked, /^calculator\s/);
    assert.match(asked, /\(2 \+ 3\) \* 4/);
    assert.match(await detail.locator('dl.facts').innerText(), /Agent version\s+v1/);
    const { run_id } = await chat(jsonAgent.id, 'the heron count as json');
    const json = await tab.open(`/runs/${run_id}`);
    const model = json.page
      .getByRole('list', { name: 'Waterfall' })
      .getByRole('button')
      .filter({ hasText: 'model ·' });
    await model.first().click();
    const answer = json.page
      .getByRole('region', { name: 'Step detail' })
      .getByLabel('Answer', { exact: true });
    // Formatted over lines, not one quoted string.
    assert.match(await answer.locator('pre').innerText(), /^\{\n {2}"answer"/);
    assert.deepEqual([...errors, ...json.errors], []);
  });
});
