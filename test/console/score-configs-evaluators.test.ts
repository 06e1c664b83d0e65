import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import axe from 'axe-core';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openSignedIn, signedInTab } from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { createAgent } from '../runtime/helpers.ts';

/**
 * The Score configs and Evaluators pages: a config and a named evaluator made, listed and changed
 * through the console, each problem under its field (the page's own checks and the server's 400 or
 * 409 by its path), and a named evaluator picked by name in a new experiment.
 */
describe('web console: score configs and named evaluators', () => {
  let s: TestServer;
  let browser: Browser;
  let tab: Awaited<ReturnType<typeof signedInTab>>;

  before(async () => {
    [s, browser] = await Promise.all([startServer('pglite'), launchBrowser()]);
    // axe is injected as a script tag, which the console's CSP refuses: this tab bypasses it.
    tab = await signedInTab(browser, s.url, s.adminKey, { width: 1280, height: 900 }, true);
    tab.page.setDefaultTimeout(30_000);
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  /** The requests the page sends from now on, by method and path. */
  const recorded = (page: Page) => {
    const sent: string[] = [];
    page.on('request', (r) => sent.push(`${r.method()} ${new URL(r.url()).pathname}`));
    return sent;
  };
  const focusedId = (page: Page) => page.evaluate('document.activeElement && document.activeElement.id');
  /** The field's problem is the text that describes it, and the focus is on it. */
  const problemOn = async (page: Page, field: ReturnType<Page['getByLabel']>, text: string | RegExp) => {
    const problem = page.locator('.field-error', { hasText: text });
    await problem.waitFor();
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    assert.equal(await problem.getAttribute('id'), await field.getAttribute('aria-describedby'));
    assert.equal(await focusedId(page), await field.getAttribute('id'), 'focus is on the field');
  };
  /** axe's serious and critical findings on the page as it is. */
  const axeFindings = async (page: Page) => {
    await page.addScriptTag({ content: axe.source });
    return (await page.evaluate(
      `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`,
    )) as string[];
  };
  /** What the page logged besides Chromium's own line for the 400 and 409 it was meant to get. */
  const unexpected = (errors: string[]) => errors.filter((e) => !/status of 40[09]/.test(e));

  it('creates score configs with problems on their fields, lists them, edits, archives and deletes', async () => {
    const { page, errors } = await tab.open('/score-configs');
    await page.getByRole('heading', { name: 'No score configs yet' }).waitFor();
    await page.getByRole('link', { name: 'New score config' }).click();
    await page.getByRole('heading', { level: 1, name: 'New score config' }).waitFor();
    const sent = recorded(page);
    const name = page.getByLabel('Name', { exact: true });
    await name.fill('helpful');
    await page.getByLabel('Min (optional)').fill('5');
    const max = page.getByLabel('Max (optional)');
    await max.fill('1');
    const create = page.getByRole('button', { name: 'Create score config' });
    await create.click();
    await problemOn(page, max, 'Max must be at least min.');
    await page.getByRole('alert').getByText('Check Max (optional) before creating it.').waitFor();
    assert.ok(!sent.includes('POST /v1/score-configs'), 'a crossed range is not sent');
    assert.deepEqual(await axeFindings(page), []);
    await max.fill('10');
    assert.equal(await max.getAttribute('aria-invalid'), 'false', 'changing the field clears its problem');
    await create.click();
    await page.getByRole('heading', { level: 1, name: 'Score configs' }).waitFor();
    await page.getByRole('row', { name: /helpful numeric 5 to 10/ }).waitFor();

    // A name a live config has: the server's 409 lands under Name.
    await page.getByRole('link', { name: 'New score config' }).click();
    await name.fill('helpful');
    await page.getByLabel('Kind').selectOption('boolean');
    await create.click();
    await problemOn(page, name, 'A score config named helpful exists; choose another name.');
    assert.equal(await page.getByText(/409 conflict/).count(), 0, 'no raw error at the bottom');

    // A categorical one: a category without a label is named on its own field.
    await name.fill('tone');
    await page.getByLabel('Kind').selectOption('categorical');
    await page.getByLabel('Category 1 label').fill('warm');
    await create.click();
    await problemOn(page, page.getByLabel('Category 2 label'), 'Name the category.');
    await page.getByLabel('Category 2 label').fill('cold');
    await page.getByRole('button', { name: 'Add a category' }).click();
    await page.getByLabel('Category 3 label').fill('neutral');
    await page.getByLabel('Category 3 value').fill('0.5');
    await create.click();
    await page
      .getByRole('row', { name: /tone categorical warm \(1\), cold \(0\), neutral \(0\.5\)/ })
      .waitFor();
    const created = await s.request('GET', '/v1/score-configs/tone');
    assert.deepEqual(created.body.categories, [
      { label: 'warm', value: 1 },
      { label: 'cold', value: 0 },
      { label: 'neutral', value: 0.5 },
    ]);

    // Edit: the description changes; archiving hides it from the list unless archived ones are asked for.
    await page.getByRole('link', { name: 'helpful', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'helpful' }).waitFor();
    await page.getByLabel('Description').fill('Does the answer help?');
    await page.getByRole('button', { name: 'Save description' }).click();
    await page.getByRole('status').getByText('Saved.').waitFor();
    assert.equal(
      (await s.request('GET', '/v1/score-configs/helpful')).body.description,
      'Does the answer help?',
    );
    await page.getByRole('button', { name: 'Archive' }).click();
    await page.getByText(/^Archived .*new scores cannot name it/).waitFor();
    await page.getByRole('button', { name: 'Restore' }).waitFor();
    await page.getByRole('link', { name: '← Score configs' }).click();
    // The list may first paint from its cache (marked stale by the archive) and then refetch: wait for the refetch.
    await page.getByRole('row', { name: /tone/ }).waitFor();
    await page.getByRole('row', { name: /helpful/ }).waitFor({ state: 'detached' });
    await page.getByLabel('Show archived configs').check();
    await page.getByRole('row', { name: /helpful.*archived.*Does the answer help\?/ }).waitFor();
    assert.equal(new URL(page.url()).searchParams.get('archived'), 'yes');

    // Delete: no score names it, so it is gone.
    await page.getByRole('link', { name: 'tone', exact: true }).click();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Delete tone' }).click();
    await page.getByRole('heading', { level: 1, name: 'Score configs' }).waitFor();
    assert.equal((await s.request('GET', '/v1/score-configs/tone')).status, 404);
    assert.deepEqual(unexpected(errors), []);
  });

  it('names an evaluator with its parameters on their fields, makes a version, and an experiment picks it by name', async () => {
    const { page, errors } = await tab.open('/evaluators');
    await page.getByRole('heading', { name: 'No named evaluators yet' }).waitFor();
    await page.getByRole('link', { name: 'New evaluator' }).click();
    const name = page.getByLabel('Name', { exact: true });
    await name.fill('has-number');
    await page.getByLabel('Kind').selectOption('regex');
    const sent = recorded(page);
    const create = page.getByRole('button', { name: 'Create evaluator' });
    await create.click();
    const pattern = page.getByLabel('pattern');
    await problemOn(page, pattern, 'pattern is required for this kind.');
    assert.ok(!sent.includes('POST /v1/evaluators'), 'a missing parameter is not sent');
    assert.deepEqual(await axeFindings(page), []);

    // A value only the server refuses: its 400 lands under that parameter by the error's path.
    await pattern.fill('\\d+');
    const flags = page.getByLabel('flags');
    await flags.fill('xyz');
    const refused = page.waitForResponse((r) => r.url().endsWith('/v1/evaluators') && r.status() === 400);
    await create.click();
    await refused;
    await problemOn(page, flags, /must match pattern/);
    assert.equal(await page.getByText(/validation_error/).count(), 0, 'no raw error at the bottom');
    await flags.fill('i');
    assert.equal(await flags.getAttribute('aria-invalid'), 'false');
    await create.click();
    await page.getByRole('heading', { level: 1, name: 'has-number' }).waitFor();
    await page.getByRole('row', { name: /^1 regex created/ }).waitFor();

    // A new version from the current one, with a note on what changed.
    await page.getByRole('button', { name: 'New version' }).click();
    const form = page.getByRole('form', { name: 'New version' });
    assert.equal(
      await form.getByLabel('pattern').inputValue(),
      '\\d+',
      'the form starts from the newest version',
    );
    await form.getByLabel('pattern').fill('[0-9]+');
    await form.getByLabel('What changed (optional)').fill('a digit class');
    await form.getByRole('button', { name: 'Save version 2' }).click();
    await page.getByRole('row', { name: /^2 regex a digit class/ }).waitFor();
    await page.getByRole('row', { name: /^1 regex created/ }).waitFor();
    const v2 = await s.request('GET', '/v1/evaluators/has-number/versions/2');
    assert.deepEqual(v2.body.spec, { type: 'regex', pattern: '[0-9]+', flags: 'i' });

    // Listed with its newest version; a second of the same name is refused on Name.
    await page.getByRole('link', { name: '← Evaluators' }).click();
    await page.getByRole('row', { name: /has-number regex 2/ }).waitFor();
    await page.getByRole('link', { name: 'New evaluator' }).click();
    await name.fill('has-number');
    await page.getByLabel('Kind').selectOption('json_valid');
    await page.getByText('This kind takes no parameters.').waitFor();
    await create.click();
    await problemOn(page, name, 'An evaluator named has-number exists; choose another name.');

    // A new experiment offers it by name, and the experiment pins the version it had.
    const { status, body: ds } = await s.request('POST', '/v1/datasets', {
      body: { name: 'numbers', items: [{ input: { message: 'Say 42' }, expected: '42' }] },
    });
    assert.equal(status, 201, JSON.stringify(ds));
    const agent = await createAgent(s, { name: 'counter', model: 'mock/default' });
    await page.goto(`${s.url}/experiments/new?dataset=${ds.id}&agent=${agent.id}`);
    await page
      .getByRole('group', { name: 'Named evaluators' })
      .getByRole('checkbox', { name: /has-number/ })
      .check();
    await page.getByRole('checkbox', { name: 'exact_match' }).uncheck();
    await page.getByRole('button', { name: 'Start experiment' }).click();
    await page.waitForURL(/\/experiments\/[0-9a-f-]{36}$/);
    const experiment = await s.request('GET', `/v1/experiments/${page.url().split('/').at(-1)}`);
    assert.equal(experiment.body.evaluators.length, 1);
    assert.deepEqual(
      { name: experiment.body.evaluators[0].ref.name, version: experiment.body.evaluators[0].ref.version },
      { name: 'has-number', version: 2 },
    );
    assert.deepEqual(unexpected(errors), []);
  });

  it('a read-only key sees both pages and no control it cannot use', async () => {
    const { body: config } = await s.request('POST', '/v1/score-configs', {
      body: { name: 'seen', kind: 'boolean', description: 'read only' },
    });
    const { body: evaluator } = await s.request('POST', '/v1/evaluators', {
      body: { name: 'watched', spec: { type: 'contains', value: 'x' } },
    });
    const { body: read } = await s.request('POST', '/v1/keys', {
      body: { name: 'viewer', scopes: ['read'] },
    });
    const viewer = await browser.newPage();
    viewer.setDefaultTimeout(30_000);
    const writeWords =
      /^(New score config|New evaluator|New version|Save description|Archive|Restore|Delete|Create .*)$/;
    const views: [string, string][] = [
      ['/score-configs', 'seen'],
      [`/score-configs/${config.id}`, 'true or false'],
      ['/evaluators', 'watched'],
      [`/evaluators/${evaluator.id}`, 'Spec of version 1'],
    ];
    for (const [path, seen] of views) {
      await openSignedIn(viewer, s.url, read.secret, path);
      await viewer.getByRole('main').getByText(seen, { exact: true }).first().waitFor();
      const controls = [
        ...(await viewer.getByRole('main').getByRole('button').allInnerTexts()),
        ...(await viewer.getByRole('main').getByRole('link').allInnerTexts()),
      ].map((t) => t.trim());
      assert.deepEqual(
        controls.filter((t) => writeWords.test(t)),
        [],
        `write controls on ${path}`,
      );
    }
    await viewer.close();
  });
});
