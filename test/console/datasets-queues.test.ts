import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, signedInTab } from '../helpers/browser.ts';
import { eventually } from '../helpers/eventually.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { createAgent } from '../runtime/helpers.ts';

/**
 * A dataset's versions and item editing, and review queues made in the console: a queue created
 * through its form, then an item reviewed and added to a dataset with a corrected expected output.
 */
describe('web console: dataset versions and items, queues made in the console', () => {
  let s: TestServer;
  let browser: Browser;
  let tab: Awaited<ReturnType<typeof signedInTab>>;
  let datasetId: string;
  const RUNS = 3;

  before(async () => {
    [s, browser] = await Promise.all([startServer('pglite'), launchBrowser()]);
    const agent = await createAgent(s, { name: 'answers', model: 'mock/default' });
    for (let i = 0; i < RUNS; i++) {
      const chat = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
        body: { message: `question ${i}`, stream: false },
      });
      assert.equal(chat.status, 200, chat.text);
    }
    const config = await s.request('POST', '/v1/score-configs', {
      body: { name: 'correct', kind: 'boolean' },
    });
    assert.equal(config.status, 201, config.text);
    const d = await s.request('POST', '/v1/datasets', {
      body: {
        name: 'gold',
        items: [
          { input: { message: 'What is 2 + 2?' }, expected: '4', tags: ['math'] },
          { input: { message: 'Capital of France?' }, expected: 'Paris' },
        ],
      },
    });
    assert.equal(d.status, 201, d.text);
    datasetId = d.body.id;
    tab = await signedInTab(browser, s.url, s.adminKey);
    tab.page.setDefaultTimeout(30_000);
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  const datasetVersion = async () =>
    (await s.request('GET', `/v1/datasets/${datasetId}`)).body.version as number;

  it('edits an item, which makes a new version, and shows an older version’s items', async () => {
    const before = await datasetVersion();
    const { page, errors } = await tab.open(`/datasets/${datasetId}`);
    const items = page.getByRole('region', { name: 'Items table' });
    await page.getByRole('button', { name: /Edit the item “What is 2 \+ 2\?/ }).click();
    const form = page.getByRole('form', { name: 'Edit item' });
    assert.equal(await form.getByLabel('Expected output', { exact: true }).inputValue(), '4');
    await form.getByLabel('Expected output', { exact: true }).fill('four');
    await form.getByLabel('Tags (comma-separated)').fill('math, easy');
    await form.getByRole('button', { name: 'Save item' }).click();
    await form.waitFor({ state: 'detached' });
    await items.getByRole('cell', { name: 'four', exact: true }).waitFor();
    await items.getByRole('cell', { name: 'math, easy' }).waitFor();

    assert.equal(await datasetVersion(), before + 1);
    const versions = page.getByRole('region', { name: 'Versions table' });
    const edited = versions.getByRole('row', { name: new RegExp(`^${before + 1} \\(current\\)`) });
    await edited.getByRole('cell', { name: 'Item edited' }).waitFor();

    // The version before the edit still has the old expected output, read-only.
    await versions.getByRole('button', { name: `View items of version ${before}` }).click();
    await page.getByRole('heading', { name: `Items as of version ${before}` }).waitFor();
    await items.getByRole('cell', { name: '4', exact: true }).waitFor();
    assert.equal(await items.getByRole('cell', { name: 'four', exact: true }).count(), 0);
    assert.equal(await page.getByRole('button', { name: /^Edit the item/ }).count(), 0);
    assert.match(page.url(), new RegExp(`version=${before}`));
    await page.getByRole('button', { name: 'Show the current items' }).click();
    await items.getByRole('cell', { name: 'four', exact: true }).waitFor();
    assert.deepEqual(errors, []);
  });

  it('shows a bad edit’s problem at its field, and makes no version', async () => {
    const before = await datasetVersion();
    const { page, errors } = await tab.open(`/datasets/${datasetId}`);
    await page.getByRole('button', { name: /Edit the item “Capital of France/ }).click();
    const form = page.getByRole('form', { name: 'Edit item' });
    // Metadata that is not JSON is said as it is typed.
    const metadata = form.getByLabel('Metadata (a JSON object)');
    await metadata.fill('{"source": ');
    await form.getByText(/^Not JSON/).waitFor();
    await metadata.fill('{"source": "manual"}');
    // A tag longer than the server takes: its 400 lands under the tags field, which gets focus.
    const tags = form.getByLabel('Tags (comma-separated)');
    await tags.fill('x'.repeat(101));
    const saved = page.waitForResponse((r) => r.request().method() === 'PATCH');
    await form.getByRole('button', { name: 'Save item' }).click();
    assert.equal((await saved).status(), 400);
    await page.locator('[aria-invalid="true"]:focus').waitFor();
    assert.equal(await tags.getAttribute('aria-invalid'), 'true');
    const problem = await tags.getAttribute('aria-describedby');
    assert.ok(problem);
    assert.match(await page.locator(`[id="${problem}"]`).innerText(), /100/);
    await form.getByRole('alert').getByRole('link', { name: 'Tags (comma-separated)' }).waitFor();
    assert.equal(await datasetVersion(), before);
    // The refused PATCH is the one error the browser logs.
    assert.deepEqual(
      errors.filter((e) => !/status of 400/.test(e)),
      [],
    );
  });

  it('adds an item by hand and deletes it, each a version', async () => {
    const before = await datasetVersion();
    const { page, errors } = await tab.open(`/datasets/${datasetId}`);
    const items = page.getByRole('region', { name: 'Items table' });
    await page.getByRole('button', { name: 'Add an item' }).click();
    const form = page.getByRole('form', { name: 'New item' });
    await form.getByRole('button', { name: 'Add item' }).click();
    await form.getByText('Write the input message.').waitFor();
    await form.getByLabel('Input message').fill('Largest planet?');
    await form.getByLabel('Expected output', { exact: true }).fill('Jupiter');
    await form.getByRole('button', { name: 'Add item' }).click();
    await items.getByRole('cell', { name: 'Jupiter' }).waitFor();
    assert.equal(await datasetVersion(), before + 1);

    await page.getByRole('button', { name: /Delete the item “Largest planet/ }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Delete item' }).click();
    await items.getByRole('cell', { name: 'Jupiter' }).waitFor({ state: 'detached' });
    assert.equal(await datasetVersion(), before + 2);
    await page
      .getByRole('region', { name: 'Versions table' })
      .getByRole('cell', { name: 'Item deleted' })
      .waitFor();
    assert.deepEqual(errors, []);
  });

  it('creates a queue through its form, then reviews an item and adds it to a dataset corrected', async () => {
    const { page, errors } = await tab.open('/review');
    const form = page.getByRole('form', { name: 'New queue' });
    // Nothing filled in: the name and the score configs are asked for at their fields.
    await form.getByRole('button', { name: 'Create queue' }).click();
    await form.getByText('Name the queue.').waitFor();
    await form.getByText('Tick at least one score config.').waitFor();
    await page.getByLabel('Name', { exact: true }).and(page.locator(':focus')).waitFor();

    await form.getByLabel('Name').fill('gold check');
    await form.getByRole('checkbox', { name: /correct/ }).check();
    await form.getByLabel('Dataset for corrected items').selectOption({ label: 'gold' });
    await form.getByRole('radio', { name: 'Runs matching a filter' }).check();
    await form.getByLabel('Agent').selectOption({ label: 'answers' });
    await form.getByRole('button', { name: 'Create queue' }).click();
    await page.getByRole('heading', { level: 1, name: 'gold check' }).waitFor();
    const article = page.getByRole('article', { name: 'Item under review' });
    await article.waitFor();

    const queues = (await s.request('GET', '/v1/annotation-queues')).body.data;
    const queue = queues.find((q: { name: string }) => q.name === 'gold check');
    assert.equal(queue.counts.total, RUNS);
    assert.equal(queue.dataset_id, datasetId);
    const itemId = await article.getAttribute('data-item');
    const runId = (await s.request('GET', `/v1/annotation-queues/${queue.id}/items/${itemId}`)).body.item
      .run_id;

    // Keyboard: d to the corrected expected output, Ctrl+Enter adds it, Esc back to the page's keys.
    await page.keyboard.press('d');
    await page.getByLabel('Corrected expected output', { exact: true }).and(page.locator(':focus')).waitFor();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.type('the corrected answer');
    await page.keyboard.press('Tab'); // the JSON box
    await page.keyboard.press('Tab');
    await page.keyboard.type('reviewed, gold');
    await page.keyboard.press('ControlOrMeta+Enter');
    await page.getByRole('status').filter({ hasText: 'Added to gold' }).waitFor();
    // Out of the form's fields (Esc leaves the correction; Shift+Tab twice from the tags), the digits score.
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Escape');
    await page.keyboard.press('1');
    await page.keyboard.press('Enter');
    // The next item is on screen (or none is left) once the submit is through.
    await page.locator(`article[data-item="${itemId}"]`).waitFor({ state: 'detached' });

    const items = (await s.request('GET', `/v1/datasets/${datasetId}/items`)).body.data;
    const added = items.find((i: { source_run_id: string | null }) => i.source_run_id === runId);
    assert.ok(added, JSON.stringify(items));
    assert.equal(added.expected, 'the corrected answer');
    assert.deepEqual(added.tags, ['reviewed', 'gold']);
    const progress = await s.request('GET', `/v1/annotation-queues/${queue.id}/progress`);
    assert.equal(progress.body.done, 1, progress.text);
    assert.deepEqual(errors, []);
  });

  it("fills a queue from an experiment's items: the reviewer's correction starts from the expected output", async () => {
    const exp = await s.request('POST', '/v1/experiments', {
      body: { dataset: 'gold', agent: 'answers', evaluators: [{ type: 'exact_match' }] },
    });
    assert.equal(exp.status, 201, exp.text);
    await eventually(
      async () =>
        (await s.request('GET', `/v1/experiments/${exp.body.id}`)).body.status === 'running'
          ? undefined
          : true,
      60_000,
      'the experiment to finish',
    );
    const { page, errors } = await tab.open('/review');
    const form = page.getByRole('form', { name: 'New queue' });
    await form.getByLabel('Name').fill('experiment check');
    await form.getByRole('checkbox', { name: /correct/ }).check();
    await form.getByRole('radio', { name: /An experiment's items/ }).check();
    await form.getByRole('button', { name: 'Create queue' }).click();
    await form.getByText('Pick an experiment.').waitFor();
    await form.getByLabel('Experiment', { exact: true }).selectOption(exp.body.id);
    await form.getByRole('button', { name: 'Create queue' }).click();
    await page.getByRole('heading', { level: 1, name: 'experiment check' }).waitFor();
    const article = page.getByRole('article', { name: 'Item under review' });
    await article.waitFor();
    const itemId = await article.getAttribute('data-item');
    const queue = (await s.request('GET', '/v1/annotation-queues')).body.data.find(
      (q: { name: string }) => q.name === 'experiment check',
    );
    const review = (await s.request('GET', `/v1/annotation-queues/${queue.id}/items/${itemId}`)).body;
    assert.equal(review.item.experiment_id, exp.body.id);
    assert.ok(typeof review.expected === 'string' && review.expected !== '', JSON.stringify(review));
    // The queue names no dataset: the reviewer picks one, and the correction starts from the expected output.
    assert.equal(await page.getByLabel('Corrected expected output').inputValue(), review.expected);
    assert.equal(await page.getByLabel('Dataset', { exact: true }).inputValue(), '');
    assert.deepEqual(errors, []);
  });
});
