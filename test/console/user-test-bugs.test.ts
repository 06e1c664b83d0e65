import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { tenantsFileSchema } from '../../src/config/tenant-policy.ts';
import { launchBrowser, signedInTab } from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { createAgent } from '../runtime/helpers.ts';

/** The defects a newcomer met page by page (issue: console from working to trusted), each as they met it. */
describe('web console: what a new user tripped over', () => {
  let s: TestServer;
  let browser: Browser;
  let tab: Awaited<ReturnType<typeof signedInTab>>;
  let clerk: { id: string; name: string };

  before(async () => {
    [s, browser] = await Promise.all([startServer('pglite'), launchBrowser()]);
    clerk = await createAgent(s, { name: 'clerk', model: 'mock/default' });
    tab = await signedInTab(browser, s.url, s.adminKey);
    tab.page.setDefaultTimeout(30_000);
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('opens an agent right after Settings, and Settings right after an agent, with the model list whole in both', async () => {
    const { page, errors } = await tab.open('/settings');
    const providers = page.getByRole('region', { name: 'Model providers' });
    await providers.getByRole('cell', { name: 'mock', exact: true }).waitFor();
    // Within the cache's life, by the navigation (no reload): both pages read the models.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agents' }).click();
    await page.getByRole('link', { name: clerk.name }).click();
    await page.getByRole('heading', { name: clerk.name }).waitFor();
    assert.equal(await page.getByText('Something went wrong').count(), 0);
    const model = page.getByLabel('Model', { exact: true });
    assert.equal(await model.inputValue(), 'mock/default');
    const offered = await model.locator('option').allInnerTexts();
    assert.ok(offered.includes('mock/default'), `the models offered: ${offered.join(', ')}`);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await providers.getByRole('cell', { name: 'mock', exact: true }).waitFor();
    const rows = providers.getByRole('row');
    for (let i = 1; i < (await rows.count()); i++) {
      const cells = await rows.nth(i).getByRole('cell').allInnerTexts();
      assert.ok(
        cells.every((c) => c.trim() !== ''),
        `no empty row in Model providers: ${JSON.stringify(cells)}`,
      );
    }
    assert.deepEqual(
      errors.filter((e) => !e.includes('favicon')),
      [],
    );
  });

  it('refuses to delete an agent a team uses, and says which team, with a link to it', async () => {
    const lead = await createAgent(s, { name: 'lead', model: 'mock/default' });
    const team = await s.request('POST', '/v1/multi-agents', {
      body: { name: 'night-shift', kind: 'swarm', members: [lead.id, clerk.id], entry_agent_id: lead.id },
    });
    assert.equal(team.status, 201, team.text);
    const { page } = await tab.open(`/agents/${clerk.id}`);
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('alertdialog');
    await dialog.getByRole('button', { name: `Delete ${clerk.name}` }).click();
    await dialog
      .getByRole('alert')
      .getByText(/agent clerk is in use by team night-shift/)
      .waitFor();
    const link = dialog
      .getByRole('list', { name: 'Still used by' })
      .getByRole('link', { name: 'night-shift' });
    assert.equal(await link.getAttribute('href'), `/teams?team=${team.body.id}`);
    assert.equal((await s.request('GET', `/v1/agents/${clerk.id}`)).status, 200, 'the agent stays');
    assert.equal((await s.request('DELETE', `/v1/multi-agents/${team.body.id}`)).status, 204);
  });

  it('saves an agent made from a template with the visibility the form showed', async () => {
    const { page } = await tab.open('/agents/new?from=template');
    await page.getByRole('button', { name: 'Use Basic Assistant' }).click();
    await page.getByLabel('Name', { exact: true }).fill('from-template');
    const shown = await page.getByLabel('Visibility').inputValue();
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByRole('heading', { name: 'from-template' }).waitFor();
    const id = new URL(page.url()).pathname.split('/').at(-1)!;
    const saved = await s.request('GET', `/v1/agents/${id}`);
    assert.equal(saved.body.visibility, shown);
    assert.equal(saved.body.template_id, 'basic-assistant');
  });

  it('leaves no agent behind when the page is left with a generated draft unsaved', async () => {
    const count = async () => (await s.request('GET', '/v1/agents?limit=200')).body.total as number;
    const before = await count();
    const { page } = await tab.open('/agents/generate');
    await page.getByLabel('What should it do?').fill('An agent that sorts the post');
    await page.getByRole('button', { name: 'Draft it' }).click();
    await page.getByText('Generated draft.').waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click();
    await page.getByRole('heading', { name: 'Runs', exact: true }).waitFor();
    assert.equal(await count(), before);
  });

  it('says a run can never fit a tiny budget (not "retry after" a day), and shows reserved beside used', async () => {
    const me = await s.app.services.tenants.find(s.app.defaultTenantId);
    s.app.services.policies.set(
      tenantsFileSchema.parse({ tenants: { [me!.name]: { budgets: { tokens_per_day: 100 } } } }),
    );
    try {
      const chat = await s.request('POST', `/v1/agents/${clerk.id}/chat`, {
        body: { message: 'hello', stream: false },
      });
      const runs = await s.request('GET', `/v1/runs?agent_id=${clerk.id}&limit=1`);
      const run = runs.body.data[0];
      assert.equal(run.status, 'failed', chat.text);
      const { page } = await tab.open(`/runs/${run.id}`);
      await page
        .getByText(/exceeds_limit: .*budget tokens_per_day is 100, but this call may use up to/)
        .waitFor();
      await page
        .getByText(/it can never fit; lower max_tokens or raise the limit/)
        .first()
        .waitFor();
      assert.equal(await page.getByText(/retry after/).count(), 0);

      await tab.open('/usage');
      const row = page.getByRole('table').getByRole('row', { name: /tokens_per_day/ });
      await row.waitFor();
      const head = await page.getByRole('table').getByRole('columnheader').allInnerTexts();
      assert.deepEqual(head.slice(2, 5), ['Used', 'Reserved', 'Remaining']);
      const cells = await row.getByRole('cell').allInnerTexts();
      assert.equal(cells[2]!.trim(), '0 of 100');
      assert.equal(cells[3], '0');
    } finally {
      s.app.services.policies.set(tenantsFileSchema.parse({ tenants: {} }));
    }
  });
});
