import assert from 'node:assert/strict';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import axe from 'axe-core';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, signedInTab } from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { createAgent } from '../runtime/helpers.ts';

/** The evaluate-and-improve pages: datasets, experiments, an agent's versions, a run's fork and scores. */
describe('web console: datasets, experiments, versions and forks', () => {
  let s: TestServer;
  let browser: Browser;
  let tab: Awaited<ReturnType<typeof signedInTab>>;

  /** axe's serious and critical findings, wide and light, wide and dark, and at 390 px (no overflow). */
  const accessible = async (page: Page, path: string) => {
    const findings = () =>
      page.evaluate(
        `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations
          .filter((v) => v.impact === 'serious' || v.impact === 'critical')
          .map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`,
      ) as Promise<string[]>;
    await page.addScriptTag({ content: axe.source });
    assert.deepEqual(await findings(), [], `${path} light`);
    await page.emulateMedia({ colorScheme: 'dark' });
    assert.deepEqual(await findings(), [], `${path} dark`);
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 390, height: 800 });
    assert.deepEqual(await findings(), [], `${path} at 390 px`);
    const wide = (await page.evaluate('document.documentElement.scrollWidth')) as number;
    const widest = await page.evaluate(
      `[...document.querySelectorAll('main *')].filter((e) => e.getBoundingClientRect().right > 391).slice(-3).map((e) => e.tagName + '.' + e.className).join(' ')`,
    );
    assert.ok(wide <= 390, `${path} is ${wide} px wide at 390 px (${widest})`);
    await page.setViewportSize({ width: 1280, height: 900 });
  };

  before(async () => {
    [s, browser] = await Promise.all([startServer('pglite'), launchBrowser()]);
    await createAgent(s, { name: 'echo', model: 'mock/default' });
    // axe is injected as a script tag, which the console's CSP refuses: this tab bypasses it.
    tab = await signedInTab(browser, s.url, s.adminKey, { width: 1280, height: 900 }, true);
    tab.page.setDefaultTimeout(30_000);
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('makes a dataset, imports items with a bad line named, runs an experiment on it and compares two', async () => {
    const { page, errors } = await tab.open('/datasets');
    await page.getByRole('heading', { name: 'No datasets yet' }).waitFor();
    // A name is required: the field says so and nothing is sent.
    await page.getByRole('button', { name: 'Create dataset' }).click();
    await page.getByText('Name the dataset.').waitFor();
    assert.equal(await page.getByLabel('Name', { exact: true }).getAttribute('aria-invalid'), 'true');
    await page.getByLabel('Name', { exact: true }).fill('greetings');
    // While the request is in flight the button is off and says why (held back here to be seen).
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    await page.route('**/v1/datasets', async (route) => {
      await held;
      await route.continue();
    });
    await page.getByRole('button', { name: 'Create dataset' }).click();
    const busy = page.getByRole('button', { name: 'Create dataset' });
    await page.locator('button[aria-busy="true"]', { hasText: 'Create dataset' }).waitFor();
    assert.equal(await busy.isDisabled(), true);
    assert.equal(await busy.getAttribute('title'), 'Creating the dataset…');
    release();
    await page.getByRole('heading', { level: 1, name: 'greetings' }).waitFor();
    const datasetId = page.url().split('/').at(-1)!;

    await page
      .getByLabel(/^Items \(/)
      .fill(
        [
          '{"input": {"message": "hello"}, "expected": "You said: hello"}',
          'this is not json',
          '{"input": {"message": "bye"}, "expected": "something else"}',
        ].join('\n'),
      );
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByText('Imported 2 items; 1 line not imported:').waitFor();
    const lineErrors = page.getByRole('list', { name: 'Lines not imported' });
    assert.match(await lineErrors.innerText(), /^Line 2: /);
    await page.getByRole('cell', { name: 'hello', exact: true }).waitFor();
    await page.getByRole('cell', { name: 'bye', exact: true }).waitFor();

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export JSONL' }).click();
    // Read through the browser's connection: the run's one browser (test/helpers/browser.ts) is
    // remote, so the download has no local path.
    const exported = (await text(await (await download).createReadStream()))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      exported.map((i) => i.input.message),
      ['hello', 'bye'],
    );
    assert.deepEqual(errors, []);
    await accessible(page, `/datasets/${datasetId}`);

    // From the dataset to a new experiment on it, the dataset already picked.
    await page.getByRole('link', { name: 'Run an experiment' }).click();
    await page.getByRole('heading', { level: 1, name: 'New experiment' }).waitFor();
    await page.getByRole('checkbox', { name: 'exact_match' }).waitFor();
    // No agent yet: the field says so.
    await page.getByRole('button', { name: 'Start experiment' }).click();
    await page.getByText('Pick an agent.').waitFor();
    await page.getByLabel('Agent', { exact: true }).selectOption({ label: 'echo (v1)' });
    await page.getByLabel('Name (optional)').fill('first try');
    await page.getByRole('button', { name: 'Start experiment' }).click();
    await page.getByRole('heading', { level: 1, name: 'first try' }).waitFor();
    const firstId = page.url().split('/').at(-1)!;
    await page.locator('.badge', { hasText: 'completed' }).first().waitFor();
    await page.getByText('Progress: 2 of 2 items').waitFor();
    await page.getByText('Passed every evaluator: 50.0 %').waitFor();
    await page.getByRole('link', { name: 'greetings', exact: true }).waitFor();
    const summary = page.getByRole('region', { name: 'Summary by evaluator' });
    await summary.getByRole('cell', { name: '0.50' }).waitFor();
    const scores = (n: number) => page.getByRole('list', { name: `Scores of item ${n}` });
    await scores(1).getByText('exact_match 1.00').waitFor();
    await scores(2).getByText('exact_match 0.00').waitFor();
    await page.getByRole('cell', { name: 'You said: bye' }).waitFor();
    // The results narrowed: the items exact_match failed, then those in error (none).
    const results = page.getByRole('region', { name: 'Results table' });
    await page.getByLabel('Failed by').selectOption('exact_match');
    await results.getByRole('cell', { name: 'hello', exact: true }).waitFor({ state: 'detached' });
    await results.getByRole('cell', { name: 'bye', exact: true }).waitFor();
    await page.getByLabel('Failed by').selectOption('');
    await page.getByLabel('Status', { exact: true }).selectOption('error');
    await page.getByText('No item matches these filters.').waitFor();
    await page.getByLabel('Status', { exact: true }).selectOption('completed');
    await results.getByRole('cell', { name: 'hello', exact: true }).waitFor();
    await results.getByRole('cell', { name: 'bye', exact: true }).waitFor();
    assert.deepEqual(errors, []);
    await accessible(page, `/experiments/${firstId}`);

    // A second experiment whose evaluator passes both: the comparison shows an improvement.
    const second = await s.request('POST', '/v1/experiments', {
      body: {
        name: 'second try',
        dataset: datasetId,
        agent: 'echo',
        evaluators: [{ type: 'contains', value: 'You said' }],
      },
    });
    assert.equal(second.status, 201, second.text);
    await page.getByRole('link', { name: '← Experiments' }).click();
    await page.getByRole('link', { name: 'second try' }).waitFor();
    const compare = page.getByRole('button', { name: 'Compare the two ticked' });
    assert.equal(await compare.isDisabled(), true);
    assert.equal(await compare.getAttribute('title'), 'Tick two experiments to compare them');
    await page.getByRole('checkbox', { name: 'Compare first try' }).check();
    await page.getByRole('checkbox', { name: 'Compare second try' }).check();
    await compare.click();
    await page.getByRole('heading', { level: 1, name: 'Compare experiments' }).waitFor();
    const items = page.getByRole('region', { name: 'Items compared' });
    // Item "bye": 0 in the first, 1 in the second: improved by 1.
    await items.getByRole('row', { name: /bye/ }).getByText('improved +1.00').waitFor();
    await items.getByRole('row', { name: /hello/ }).getByText('unchanged 0.00').waitFor();
    assert.deepEqual(errors, []);
    await accessible(page, '/experiments/compare');
  });

  it("diffs an agent's versions and rolls back after confirming; forks a run from a step, scores it and compares", async () => {
    const writer = await createAgent(s, {
      name: 'writer',
      system_prompt: 'Write short answers.',
      tools: ['calculator'],
    });
    const patched = await s.request('PATCH', `/v1/agents/${writer.id}`, {
      body: { system_prompt: 'Write long answers.' },
    });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.version, 2);

    const { page, errors } = await tab.open(`/agents/${writer.id}`);
    await page.getByRole('link', { name: 'Version history' }).click();
    await page.getByRole('heading', { level: 1, name: 'Versions of writer' }).waitFor();
    await page.getByRole('radio', { name: 'from version 1' }).check();
    await page.getByRole('radio', { name: 'to version 2' }).check();
    await page.getByRole('heading', { name: 'Version 1 → 2' }).waitFor();
    const diff = page.getByRole('region', { name: 'Diff of system_prompt' });
    const patch = await diff.locator('pre').innerText();
    assert.match(patch, /^-Write short answers\.$/m);
    assert.match(patch, /^\+Write long answers\.$/m);
    await accessible(page, `/agents/${writer.id}/versions`);

    // A version pinned: an experiment on it starts with it filled in; a chat with it runs it.
    await page.getByRole('link', { name: 'Experiment on version 1' }).click();
    await page.getByRole('heading', { level: 1, name: 'New experiment' }).waitFor();
    assert.equal(await page.getByLabel('Agent version (optional)').inputValue(), '1');
    assert.equal(await page.getByLabel('Agent', { exact: true }).inputValue(), writer.id);
    await page.goBack();
    await page.getByRole('link', { name: 'Chat with version 1' }).click();
    await page.getByRole('heading', { level: 1, name: 'Playground' }).waitFor();
    assert.equal(await page.getByLabel('Version', { exact: true }).inputValue(), '1');
    await page.getByLabel('Message to writer').fill('hello there');
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.searchParams.has('session'));
    const pinnedSession = new URL(page.url()).searchParams.get('session');
    assert.equal(new URL(page.url()).searchParams.get('version'), '1');
    const pinnedRuns = await s.request('GET', `/v1/runs?session_id=${pinnedSession}`);
    assert.equal(pinnedRuns.status, 200, pinnedRuns.text);
    assert.deepEqual(
      pinnedRuns.body.data.map((r: { agent_version: number }) => r.agent_version),
      [1],
    );
    assert.deepEqual(errors, []);
    await tab.open(`/agents/${writer.id}/versions`);
    await page.getByRole('heading', { level: 1, name: 'Versions of writer' }).waitFor();

    await page.getByRole('button', { name: 'Roll back to 1' }).click();
    const dialog = page.getByRole('alertdialog');
    await dialog.getByText('Roll writer back to version 1?').waitFor();
    await dialog.getByRole('button', { name: 'Roll back to version 1' }).click();
    await page.getByText('Rolled back: the agent is now at version 3.').waitFor();
    const now = await s.request('GET', `/v1/agents/${writer.id}`);
    assert.equal(now.body.version, 3);
    assert.equal(now.body.system_prompt, 'Write short answers.');
    assert.deepEqual(errors, []);

    // A run with a tool call, forked from its second model step.
    const chat = await s.request('POST', `/v1/agents/${writer.id}/chat`, {
      body: { message: 'use the calculator tool on (2 + 3) * 4', stream: false },
    });
    assert.equal(chat.status, 200, chat.text);
    const parent = chat.body.run_id as string;
    const run = await s.request('GET', `/v1/runs/${parent}`);
    const modelStep = run.body.steps.find(
      (x: { kind: string; idx: number }) => x.kind === 'model' && x.idx > 0,
    );
    assert.ok(modelStep, 'the run has a model step after the tool call');

    await tab.open(`/runs/${parent}`);
    await page.getByRole('heading', { level: 1, name: `Run ${parent.slice(-8)}` }).waitFor();
    // The run id is copied by its button, named for what it copies.
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.url });
    await page.getByRole('button', { name: 'Copy the run id' }).click();
    await page.locator('main .page-head').getByText('Copied', { exact: true }).waitFor();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), parent);

    // A score needs a name and a number.
    await page.getByRole('button', { name: 'Add score' }).click();
    await page.getByText('Name the score (e.g. helpfulness).').waitFor();
    await page.getByLabel('Score name').fill('helpful');
    await page.getByLabel('Value').fill('0.75');
    await page.getByRole('button', { name: 'Add score' }).click();
    await page.getByRole('region', { name: 'Scores table' }).getByRole('cell', { name: '0.75' }).waitFor();
    const scores = await s.request('GET', `/v1/runs/${parent}/scores`);
    assert.deepEqual(
      scores.body.data.map((x: { name: string; value: number; source: string }) => [
        x.name,
        x.value,
        x.source,
      ]),
      [['helpful', 0.75, 'human']],
    );
    await accessible(page, `/runs/${parent}`);

    await page.getByLabel('From step').selectOption(String(modelStep.idx));
    // An edited message with a later step: refused on its field, as the server would (422).
    await page.getByLabel('Edited message (optional)').fill('what is 50 * 1.2?');
    await page.getByRole('button', { name: 'Fork', exact: true }).click();
    await page.getByText('An edited message starts the run again: fork from the start.').waitFor();
    await page.getByLabel('Edited message (optional)').fill('');
    await page.getByRole('button', { name: 'Fork', exact: true }).click();
    await page.waitForURL((u) => !u.pathname.endsWith(parent) && /\/runs\/[0-9a-f-]{36}$/.test(u.pathname));
    const child = page.url().split('/').at(-1)!;
    const forked = await s.request('GET', `/v1/runs/${child}`);
    assert.equal(forked.body.parent_run_id, parent);
    assert.equal(forked.body.forked_from_step, modelStep.idx);
    await page.getByRole('heading', { level: 1, name: `Run ${child.slice(-8)}` }).waitFor();
    await page.getByText(`kept that run's steps 0 to ${modelStep.idx - 1} as recorded`).waitFor();
    // Its conversation shows the turns it kept (the parent's tool call and result), marked as kept.
    await page.getByRole('button', { name: 'Conversation' }).click();
    const kept = page.getByRole('listitem', { name: 'Kept from the parent run' });
    await kept.getByText('calculator').waitFor();
    assert.match(await kept.innerText(), /not run again[\s\S]*\(2 \+ 3\) \* 4[\s\S]*Result\s+20/);
    await page.getByRole('link', { name: 'Compare with it' }).click();
    await page.getByRole('heading', { level: 1, name: 'Compare runs' }).waitFor();
    // Lined up at the fork point: the fork's first own step beside the parent's step it forked at.
    await page.getByText(`Lined up at the fork point, step ${modelStep.idx}`).waitFor();
    const forkRow = page
      .getByRole('region', { name: 'Steps side by side' })
      .getByRole('row')
      .nth(modelStep.idx + 1);
    assert.match(await forkRow.innerText(), new RegExp(`^${modelStep.idx}\\s+model`));
    assert.doesNotMatch(await forkRow.innerText(), /kept/);
    await page
      .getByRole('region', { name: 'The two runs' })
      .getByRole('row', { name: /^Output/ })
      .waitFor();
    await page.getByRole('region', { name: 'Steps side by side' }).getByRole('row').nth(1).waitFor();
    assert.deepEqual(errors, []);
    await accessible(page, '/runs/compare');

    // The runs list by cost: the mock model is free, so the parent's model calls are priced here.
    await s.app.db.query("update run_steps set cost = 0.002 where run_id = $1 and kind = 'model'", [parent]);
    await tab.open('/runs?min_cost=0.001');
    await page.getByRole('heading', { level: 1, name: 'Runs' }).waitFor();
    await page.getByText('1 in all').waitFor();
    await page.getByRole('link', { name: parent.slice(-8) }).waitFor();
    await page.getByLabel('Max cost (USD)').fill('0.0005');
    await page.getByText('The maximum is below the minimum.').waitFor();
    assert.equal(await page.getByLabel('Max cost (USD)').getAttribute('aria-invalid'), 'true');
    await page.getByLabel('Max cost (USD)').fill('0.01');
    await page.getByText('1 in all').waitFor();
    await page.getByLabel('Min cost (USD)').fill('');
    await page.getByLabel('Max cost (USD)').fill('0.001');
    await page.getByText(/^[1-9]\d* in all$/).waitFor();
    assert.equal(await page.getByRole('link', { name: parent.slice(-8) }).count(), 0);
    await page.getByRole('link', { name: child.slice(-8) }).waitFor();
    assert.deepEqual(errors, []);
  });
});
