import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import axe from 'axe-core';
import type { Browser, Page } from 'playwright-core';
import { createKey } from '../auth/fixtures.ts';
import { launchBrowser, signedInTab } from '../helpers/browser.ts';
import { eventually } from '../helpers/eventually.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { createAgent } from '../runtime/helpers.ts';

/** The operations pages (tasks, runs, knowledge, usage, settings) in a real browser against a real server. */
describe('web console: tasks, runs, knowledge, usage and settings', () => {
  let s: TestServer;
  let browser: Browser;
  let failingRunId: string;
  let taskId: string;
  let kbId: string;

  // One tab per key, CSP setting and width, each signed in once and reused by every test that asks
  // for the same: a browser context and a sign-in per page cost more than most checks here.
  const tabs = new Map<string, { open: Awaited<ReturnType<typeof signedInTab>>['open']; failed: string[] }>();
  const open = async (
    path: string,
    key = s.adminKey,
    bypassCSP = false,
    width = 1280,
  ): Promise<{ page: Page; errors: { list: string[] } }> => {
    const id = `${key} ${bypassCSP} ${width}`;
    let tab = tabs.get(id);
    if (!tab) {
      const made = await signedInTab(browser, s.url, key, { width, height: 900 }, bypassCSP);
      const failed: string[] = [];
      // Failed requests are listed with their URL (the browser's own line has none, and the favicon
      // it asks for is no request of the page).
      made.page.on('response', (r) => {
        if (r.status() >= 400 && !r.url().endsWith('/favicon.ico'))
          failed.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
      });
      tab = { open: made.open, failed };
      tabs.set(id, tab);
    }
    tab.failed.length = 0;
    const { page, errors: all } = await tab.open(path);
    // A page left dark by the accessibility test comes back in the light scheme.
    if (bypassCSP) await page.emulateMedia({ colorScheme: 'light' });
    const failed = tab.failed;
    return {
      page,
      errors: {
        get list() {
          return [...all.filter((e) => !e.startsWith('console: Failed to load resource')), ...failed];
        },
      },
    };
  };

  before(async () => {
    [s, browser] = await Promise.all([startServer('pglite'), launchBrowser()]);
    await createAgent(s, {
      name: 'summarizer',
      model: 'mock/default',
      task_types: [
        {
          name: 'summarize',
          input_schema: {
            type: 'object',
            required: ['text'],
            properties: {
              text: { type: 'string', title: 'Text' },
              words: { type: 'integer', minimum: 1 },
              code: { type: 'string', pattern: '^[A-Z]{3}$' },
            },
          },
        },
      ],
    });
    const clock = await createAgent(s, { name: 'clock', tools: ['current_time'] });
    const chat = await s.request('POST', `/v1/agents/${clock.id}/chat`, {
      body: { message: 'use the current_time tool {"timezone": "Nowhere/Atlantis"}', stream: false },
    });
    assert.equal(chat.status, 200, chat.text);
    failingRunId = chat.body.run_id;
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('creates a task from its type’s schema form, with inline errors, and watches it complete live', async () => {
    const { page, errors } = await open('/tasks/new');
    await page.getByLabel('Agent').selectOption({ label: 'summarizer' });
    await page.getByLabel('Title *').fill('Summarise the note');
    await page.getByLabel('words').fill('0');
    await page.getByRole('button', { name: 'Create task' }).click();
    // Checked in the page: the required field and the minimum.
    await page.locator('.field', { hasText: 'Text *' }).getByText('required').waitFor();
    await page.locator('.field', { hasText: 'words' }).getByText('must be at least 1').waitFor();
    await page.getByLabel('Text *').fill('Agents run tasks in the background.');
    await page.getByLabel('words').fill('5');
    await page.getByLabel('code').fill('lowercase');
    await page.getByRole('button', { name: 'Create task' }).click();
    // Checked by the server (the pattern), its 400 shown on the field.
    await page
      .locator('.field', { hasText: 'code' })
      .getByText(/must match pattern/i)
      .waitFor();
    await page.getByLabel('code').fill('ABC');
    await page.getByRole('button', { name: 'Create task' }).click();
    await page.waitForURL(/\/tasks\/[0-9a-f-]{36}$/);
    taskId = new URL(page.url()).pathname.split('/').pop()!;
    await page.locator('.page-head .badge', { hasText: 'completed' }).waitFor();
    await page.locator('.timeline').getByText('completed', { exact: true }).waitFor();
    const task = await s.request('GET', `/v1/tasks/${taskId}`);
    assert.equal(task.body.status, 'completed');
    assert.deepEqual(task.body.payload, {
      text: 'Agents run tasks in the background.',
      words: 5,
      code: 'ABC',
    });
    await page.getByRole('link', { name: /^Run / }).click();
    await page.getByRole('heading', { name: /^Run / }).waitFor();
    assert.deepEqual(errors.list, ['400 POST /v1/tasks'], 'only the refusal of the pattern');
  });

  it('uploads a dropped document with progress and finds it with the search tester', async () => {
    const { page, errors } = await open('/knowledge');
    await page.getByText('No knowledge bases yet').waitFor();
    await page.getByLabel('Name').fill('handbook');
    await page.getByRole('button', { name: 'Create knowledge base' }).click();
    await page.getByRole('link', { name: 'handbook' }).click();
    kbId = new URL(page.url()).pathname.split('/').pop()!;
    // Dropped as a user drops files: dragover, then drop with the files in its DataTransfer. A string,
    // not a function: the tests are type-checked without the DOM library.
    const files = await page.evaluateHandle(`(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['# Refunds\\n\\nCustomers get a refund within 30 days of purchase.\\n'], 'refunds.md', { type: 'text/markdown' }));
      dt.items.add(new File(['%PDF-1.4 not really a pdf'], 'broken.pdf', { type: 'application/pdf' }));
      return dt;
    })()`);
    const zone = page.getByText('Drop files here, or').locator('..');
    await zone.dispatchEvent('dragover', { dataTransfer: files });
    await zone.dispatchEvent('drop', { dataTransfer: files });
    const uploads = page.getByRole('list').filter({ has: page.getByRole('progressbar') });
    await uploads.getByRole('listitem').filter({ hasText: 'refunds.md' }).getByText('created').waitFor();
    assert.equal(
      await page.getByRole('progressbar', { name: 'refunds.md upload' }).getAttribute('value'),
      '1',
    );
    // A file the server cannot read fails in the list with the server's reason and its request id.
    const broken = uploads.getByRole('listitem').filter({ hasText: 'broken.pdf' });
    await broken.getByText('failed').waitFor();
    await broken
      .getByRole('alert')
      .getByText(/\(request [0-9a-f-]+\)/)
      .waitFor();
    // The stored document says where ingestion left it: this server has no embedding model, so its
    // one chunk is found by words only.
    const row = page.getByRole('row').filter({ has: page.getByRole('cell', { name: 'refunds.md' }) });
    await row.getByText('lexical', { exact: true }).waitFor();
    assert.match(await row.innerText(), /found by words only.*\s1\s/s);
    assert.equal(
      await page.getByRole('cell', { name: 'broken.pdf' }).count(),
      0,
      'a failed file is not stored',
    );
    await page.getByLabel('Query').fill('refund purchase');
    await page.getByRole('button', { name: 'Search' }).click();
    const hit = page.getByRole('table', { name: 'Search hits' }).getByRole('row').nth(1);
    await hit.getByText('refunds.md').waitFor();
    const lexical = await hit.getByRole('cell').nth(2).innerText();
    assert.match(lexical, /^0\.\d{4}/, 'a full-text score');
    assert.deepEqual(
      errors.list.filter((e) => !e.includes('/documents')),
      [],
      'only the broken upload failed',
    );
  });

  it('opens a failing run in the clinic on its failing step, with its input, output and error', async () => {
    const { page, errors } = await open('/runs?has_error=true');
    await page.getByRole('link', { name: failingRunId.slice(-8) }).click();
    const detail = page.getByRole('region', { name: 'Step detail' });
    await detail.getByRole('heading', { name: /tool: current_time/ }).waitFor();
    await detail.getByText('error', { exact: true }).waitFor();
    await detail.getByText('Nowhere/Atlantis').first().waitFor();
    assert.ok((await page.locator('.waterfall .bar-error').count()) >= 1, 'the failing bar is marked');
    assert.deepEqual(errors.list, []);
  });

  it('links a failed task straight to its run', async () => {
    const broken = await createAgent(s, { name: 'broken', model: 'nowhere/none' });
    const res = await s.request('POST', '/v1/tasks', {
      body: { agent_id: broken.id, task_type: 'default', title: 'doomed', max_attempts: 1 },
    });
    assert.equal(res.status, 202, res.text);
    await eventually(
      async () => (await s.request('GET', `/v1/tasks/${res.body.id}`)).body.status === 'failed' || undefined,
    );
    const { page } = await open(`/tasks/${res.body.id}`);
    await page.getByRole('link', { name: 'Open the run that failed' }).click();
    await page.getByRole('heading', { name: /^Run / }).waitFor();
    await page.getByText(/Run failed:/).waitFor();
  });

  it('shows a read-only key no write controls, and the API refuses its writes', async () => {
    const reader = (await createKey(s, ['read'])).secret;
    const writes =
      /^(New task|Create|Cancel|Retry|Revoke|Add MCP|Remove|Test |Pause|Resume|Delete|Choose files)/;
    for (const path of [
      '/tasks',
      `/tasks/${taskId}`,
      '/tasks/schedules',
      '/runs',
      '/knowledge',
      `/knowledge/${kbId}`,
      '/usage',
      '/settings',
    ]) {
      const { page, errors } = await open(path, reader);
      await page.locator('main h1').first().waitFor();
      await page.waitForLoadState('networkidle');
      assert.equal(await page.getByRole('button', { name: writes }).count(), 0, `${path}: no write buttons`);
      assert.equal(await page.getByRole('link', { name: writes }).count(), 0, `${path}: no write links`);
      assert.equal(await page.getByText('Choose files to upload').count(), 0, `${path}: no upload`);
      assert.deepEqual(errors.list, [], path);
    }
    const agents = await s.request('GET', '/v1/agents?name=summarizer');
    const refused = await s.request('POST', '/v1/tasks', {
      key: reader,
      body: { agent_id: agents.body.data[0].id, task_type: 'summarize', title: 'x', payload: { text: 'x' } },
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'forbidden');
  });

  it('has no serious or critical accessibility violation on any of these pages, wide, dark and at 390 px', async () => {
    const paths = [
      '/tasks',
      '/tasks/new',
      '/tasks/schedules',
      `/tasks/${taskId}`,
      '/runs',
      `/runs/${failingRunId}`,
      '/knowledge',
      `/knowledge/${kbId}`,
      '/usage',
      '/settings',
    ];
    const narrow = [
      '/tasks',
      `/tasks/${taskId}`,
      `/runs/${failingRunId}`,
      `/knowledge/${kbId}`,
      '/usage',
      '/settings',
    ];
    for (const [path, width] of [
      ...paths.map((p) => [p, 1280] as const),
      ...narrow.map((p) => [p, 390] as const),
    ]) {
      const { page } = await open(path, s.adminKey, true, width);
      await page.locator('main h1').first().waitFor();
      await page.waitForLoadState('networkidle');
      await page.addScriptTag({ content: axe.source });
      const violations = () =>
        page.evaluate(
          `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations
            .filter((v) => v.impact === 'serious' || v.impact === 'critical')
            .map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`,
        ) as Promise<string[]>;
      assert.deepEqual(await violations(), [], `${path} at ${width} px`);
      if (width === 390) {
        // Usable on a phone: nothing wider than the screen (wide tables scroll in their own region).
        const wide = (await page.evaluate('document.documentElement.scrollWidth')) as number;
        assert.ok(wide <= 390, `${path} is ${wide} px wide at 390 px`);
      } else {
        // The same page in the dark scheme (colours follow the system setting).
        await page.emulateMedia({ colorScheme: 'dark' });
        assert.deepEqual(await violations(), [], `${path} at ${width} px, dark`);
      }
    }
  });
});
