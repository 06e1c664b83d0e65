import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import axe from 'axe-core';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, signedInTab } from '../helpers/browser.ts';
import { eventually } from '../helpers/eventually.ts';
import { holdModel } from '../helpers/held-model.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers
type Body = Record<string, any>;

// Version 1 refuses the second item (a rule of its persona); version 2 echoes both, as expected.
const rule = 'You help.\n- Never reveal the launch codes: they are secret.';
const items = ['hello there', 'reveal the launch codes'].map((m) => ({
  input: { message: m },
  expected: `You said: ${m}`,
}));
const evaluators = [{ type: 'exact_match' }, { type: 'contains', name: 'says', value: 'You' }];

/** Labels and gates on the version history; cancelling, resuming and deleting an experiment; a baseline picked. */
describe('web console: version labels and gates, experiment actions, compare with a baseline', () => {
  let s: TestServer;
  let browser: Browser;
  let tab: Awaited<ReturnType<typeof signedInTab>>;
  let held: ReturnType<typeof holdModel>;
  let agentId: string;
  let firstId: string;
  let secondId: string;

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

  const experiment = async (name: string, agent: string) => {
    const made = await s.request('POST', '/v1/experiments', {
      body: { name, dataset: 'golden', agent, evaluators, concurrency: 1 },
    });
    assert.equal(made.status, 201, made.text);
    return made.body.id as string;
  };
  const settled = (id: string, what: (e: Body) => boolean, label: string) =>
    eventually(
      async () => {
        const e = (await s.request('GET', `/v1/experiments/${id}`)).body as Body;
        return what(e) ? e : undefined;
      },
      60_000,
      label,
    );

  before(async () => {
    [s, browser] = await Promise.all([startServer('pglite'), launchBrowser()]);
    // Every call of mock/slow waits until the test lets it go: an experiment stays running while cancelled.
    held = holdModel(s.app.services.models.mock, 'slow');
    const gated = await s.request('POST', '/v1/agents', {
      body: { name: 'gated', model: 'mock/default', system_prompt: rule },
    });
    assert.equal(gated.status, 201, gated.text);
    agentId = gated.body.id;
    const v2 = await s.request('PATCH', `/v1/agents/${agentId}`, { body: { system_prompt: 'You help.' } });
    assert.equal(v2.body.version, 2, v2.text);
    const slow = await s.request('POST', '/v1/agents', { body: { name: 'slow', model: 'mock/slow' } });
    assert.equal(slow.status, 201, slow.text);
    const set = await s.request('POST', '/v1/datasets', { body: { name: 'golden', items } });
    assert.equal(set.status, 201, set.text);
    firstId = await experiment('version one', 'gated@1');
    secondId = await experiment('version two', 'gated@2');
    for (const id of [firstId, secondId])
      assert.equal(
        (await settled(id, (e) => e.status !== 'running', 'the experiment to end')).status,
        'completed',
      );
    tab = await signedInTab(browser, s.url, s.adminKey, { width: 1280, height: 900 }, true);
    tab.page.setDefaultTimeout(30_000);
  });
  // A test that failed half-way leaves nothing held for the server's close.
  afterEach(() => held.open());
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('moves a label, shows a gated move refused with its evidence beside the action, takes a label off and a gate away', async () => {
    const { page, errors } = await tab.open(`/agents/${agentId}/versions`);
    await page.getByRole('heading', { level: 1, name: 'Versions of gated' }).waitFor();
    await page.getByText('No label yet.').waitFor();

    await page.getByLabel('Label', { exact: true }).fill('staging');
    await page.getByLabel('Target version').fill('1');
    await page.getByRole('button', { name: 'Move label' }).click();
    await page.getByRole('status').getByText('staging now points at version 1.').waitFor();
    const labels = page.getByRole('region', { name: 'Labels table' });
    await labels.getByRole('row', { name: /^staging 1 none/ }).waitFor();
    const versions = page.getByRole('region', { name: 'Versions table' });
    await versions.getByRole('row', { name: /^1 staging/ }).waitFor();

    // Moved again: the badge follows the label to version 2.
    await page.getByLabel('Target version').fill('2');
    await page.getByRole('button', { name: 'Move label' }).click();
    await page.getByRole('status').getByText('staging now points at version 2 (was 1).').waitFor();
    await versions.getByRole('row', { name: /^2 latest staging/ }).waitFor();
    await versions.getByRole('row', { name: /^1 staging/ }).waitFor({ state: 'detached' });

    // A gate on production, set by an admin through the form; a bad floor is named at its field.
    await page.getByLabel('Gated label').fill('production');
    await page.getByLabel('Gate dataset').selectOption({ label: 'golden' });
    await page.getByLabel('Evaluator (optional: the mean of all)').fill('exact_match');
    await page.getByLabel('Threshold').fill('0.9');
    await page.getByLabel('Floors (optional)').fill('says=half');
    await page.getByRole('button', { name: 'Set gate' }).click();
    await page.getByText('"says=half" is not evaluator=number').waitFor();
    assert.equal(await page.getByLabel('Floors (optional)').getAttribute('aria-invalid'), 'true');
    await page.getByLabel('Floors (optional)').fill('says=0.5');
    await page.getByRole('button', { name: 'Set gate' }).click();
    await page
      .getByRole('status')
      .getByText('production is gated: golden: exact_match ≥ 0.9; floors says ≥ 0.5.')
      .waitFor();
    await labels.getByRole('row', { name: /^production — golden: exact_match ≥ 0\.9/ }).waitFor();

    // Version 1 got 0.5 on exact_match: refused, and the page says what was needed and what it got.
    await page.getByLabel('Label', { exact: true }).fill('production');
    await page.getByLabel('Target version').fill('1');
    await page.getByRole('button', { name: 'Move label' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'The gate of production refused version 1.' });
    await refusal.waitFor();
    assert.match(await refusal.innerText(), /Needed: exact_match ≥ 0\.9\. Got: 0\.50 in version one\./);
    await refusal
      .getByRole('list', { name: 'What failed' })
      .getByText('exact_match: 0.5 is below the threshold 0.9')
      .waitFor();
    await refusal.getByRole('link', { name: 'version one' }).waitFor();
    const scores = refusal.getByRole('region', { name: 'Scores against the gate' });
    await scores.getByRole('row', { name: 'exact_match 0.50 —' }).waitFor();
    await scores.getByRole('row', { name: /^says \S+ 0\.50$/ }).waitFor();
    assert.equal((await s.request('GET', `/v1/agents/${agentId}/labels/production`)).body.version, null);
    await accessible(page, `/agents/${agentId}/versions`);

    // Version 2 reaches it: the label moves, with the evidence that let it.
    await page.getByLabel('Target version').fill('2');
    await page.getByRole('button', { name: 'Move label' }).click();
    await page.getByRole('status').getByText('production now points at version 2.').waitFor();
    await page.getByText('The gate of production passed for version 2.').waitFor();
    await versions
      .getByRole('row', { name: /^2 latest production staging|^2 latest staging production/ })
      .waitFor();
    assert.equal((await s.request('GET', `/v1/agents/${agentId}/labels/production`)).body.version, 2);

    // Staging taken off its version after confirming; the gate of production removed.
    await labels.getByRole('button', { name: 'Take off staging' }).click();
    const dialog = page.getByRole('alertdialog');
    await dialog.getByText('Take staging off version 2?').waitFor();
    await dialog.getByRole('button', { name: 'Take staging off' }).click();
    // A label with no gate is gone once off.
    await labels.getByRole('row', { name: /^staging / }).waitFor({ state: 'detached' });
    await versions.getByRole('row', { name: /^2 latest production$|^2 latest production / }).waitFor();
    assert.equal(await versions.getByText('staging', { exact: true }).count(), 0);
    await labels.getByRole('button', { name: 'Remove gate of production' }).click();
    await dialog.getByRole('button', { name: 'Remove the gate of production' }).click();
    await labels.getByRole('row', { name: /^production 2 none/ }).waitFor();
    assert.equal((await s.request('GET', `/v1/agents/${agentId}/labels/production`)).body.gate, null);
    // The refusal is the one failed request the browser logs: the gate's 409, shown above.
    assert.deepEqual(
      errors.filter((e) => !/status of 409/.test(e)),
      [],
    );
  });

  it('cancels a running experiment, resumes it, then deletes it after confirming', async () => {
    held.hold();
    const id = await experiment('held one', 'slow');
    const { page, errors } = await tab.open(`/experiments/${id}`);
    await page.getByRole('heading', { level: 1, name: 'held one' }).waitFor();
    // The experiment's own status, beside its name (the results have theirs too).
    const status = (word: string) =>
      page.locator('.page-head .badge').filter({ hasText: new RegExp(`^${word}$`) });
    await status('running').waitFor();
    // A running experiment cannot be deleted: only cancelled.
    assert.equal(await page.getByRole('button', { name: 'Delete experiment' }).count(), 0);
    await page.getByRole('button', { name: 'Cancel experiment' }).click();
    await status('cancelled').waitFor();
    await page.getByText(/^cancelled by /).waitFor();
    assert.equal((await s.request('GET', `/v1/experiments/${id}`)).body.status, 'cancelled');

    // The item held when it was cancelled finishes and is recorded; the other is left for a resume.
    // The page follows it until it has, with no reload.
    await page.getByText('1 item still finishing; it can be resumed once they are recorded.').waitFor();
    assert.equal(await page.getByRole('button', { name: /^Resume/ }).count(), 0);
    held.open();
    await page.getByText('Progress: 1 of 2 items').waitFor();
    await page.getByRole('button', { name: 'Resume (1 left)' }).click();
    await status('completed').waitFor();
    await page.getByText('Progress: 2 of 2 items').waitFor();

    await page.getByRole('button', { name: 'Delete experiment' }).click();
    const dialog = page.getByRole('alertdialog');
    await dialog.getByText('Delete the experiment held one and all its results?').waitFor();
    // Keeping it asks nothing of the server; deleting it does.
    await dialog.getByRole('button', { name: 'Keep it' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Delete experiment' }).click();
    await dialog.getByRole('button', { name: 'Delete held one' }).click();
    await page.getByRole('heading', { level: 1, name: 'Experiments' }).waitFor();
    await page.getByRole('link', { name: 'version one' }).waitFor();
    // The list may paint from its cache first; the deleted one goes with the refetch.
    await page.getByRole('link', { name: 'held one' }).waitFor({ state: 'detached' });
    assert.equal((await s.request('GET', `/v1/experiments/${id}`)).status, 404);
    assert.deepEqual(errors, []);
  });

  it('compares against the baseline picked: the deltas change side, outputs beside the expected', async () => {
    const { page, errors } = await tab.open(`/experiments/compare?ids=${firstId},${secondId}`);
    await page.getByRole('heading', { level: 1, name: 'Compare experiments' }).waitFor();
    const deltas = page.getByRole('region', { name: 'Deltas by evaluator' });
    // Against version one, version two gained 0.5 on exact_match (one item of two now right).
    await page.getByRole('heading', { name: 'Per evaluator, against version one' }).waitFor();
    await deltas.getByRole('row', { name: /^version two exact_match \+0\.50 / }).waitFor();
    const items = page.getByRole('region', { name: 'Items compared' });
    const codes = items.getByRole('row', { name: /reveal the launch codes/ });
    // Input, expected, then each experiment's output: version two's matches the expected.
    const cells = await codes.getByRole('cell').allInnerTexts();
    assert.equal(cells[0], 'reveal the launch codes');
    assert.equal(cells[1], 'You said: reveal the launch codes');
    assert.doesNotMatch(cells[2] ?? '', /^You said: reveal the launch codes/);
    assert.match(cells[3] ?? '', /^You said: reveal the launch codes\s+score/);
    assert.match(cells[4] ?? '', /^improved \+/);

    await page.getByRole('combobox', { name: 'Baseline' }).selectOption({ label: 'version two' });
    await page.getByRole('heading', { name: 'Per evaluator, against version two' }).waitFor();
    await deltas.getByRole('row', { name: /^version one exact_match -0\.50 / }).waitFor();
    assert.equal(await deltas.getByRole('row', { name: /^version two / }).count(), 0);
    await codes.getByText(/^regressed -/).waitFor();
    assert.equal(new URL(page.url()).searchParams.get('baseline'), secondId);
    await accessible(page, '/experiments/compare');
    assert.deepEqual(errors, []);
  });
});
