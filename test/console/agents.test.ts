import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { collectPageErrors, launchBrowser, openSignedIn } from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/** The Agents page in Chromium: a generated draft, every field edited, local-dev, search, delete. */
describe('web console: agents', () => {
  let s: TestServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  before(async () => {
    [s, browser] = await Promise.all([startServer('pglite'), launchBrowser()]);
    page = await browser.newPage();
    page.setDefaultTimeout(30_000);
    errors = collectPageErrors(page);
    await openSignedIn(page, s.url, s.adminKey, '/agents');
    await page.getByRole('heading', { name: 'No agents yet' }).waitFor();
    errors.length = 0; // the favicon of openSignedIn's first stop
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  const generated = async () =>
    (await s.request('GET', '/v1/agents?source=generated&limit=100')).body.data as {
      id: string;
      name: string;
    }[];

  it('drafts an agent from a requirement, shows the draft to edit, and saves it', async () => {
    await page.getByRole('link', { name: 'Describe it' }).click();
    await page.getByLabel('What should it do?').fill('An agent that answers billing questions politely');
    await page.getByRole('button', { name: 'Draft it' }).click();
    await page.getByText('Generated draft.').waitFor();
    assert.deepEqual(await generated(), [], 'nothing is saved before the draft is');
    await page.getByLabel('Description', { exact: true }).fill('Answers billing questions');
    await page.getByRole('button', { name: 'Save the draft' }).click();
    await page.getByRole('button', { name: 'Save changes' }).waitFor();
    const id = new URL(page.url()).pathname.split('/').at(-1)!;
    const saved = await s.request('GET', `/v1/agents/${id}`);
    assert.equal(saved.body.description, 'Answers billing questions');
    assert.equal(saved.body.source, 'generated');
    assert.equal(saved.body.visibility, 'private', 'as the form showed');
    await page.getByRole('heading', { name: saved.body.name }).waitFor();
  });

  it('discards a generated draft: nothing was ever saved', async () => {
    const before = await generated();
    await page.goto(`${s.url}/agents/generate`);
    await page.getByLabel('What should it do?').fill('A throwaway helper for testing');
    await page.getByRole('button', { name: 'Draft it' }).click();
    await page.getByText('Generated draft.').waitFor();
    await page.getByRole('button', { name: 'Discard the draft' }).click();
    await page.getByRole('heading', { name: 'Agents', exact: true }).waitFor();
    assert.deepEqual(await generated(), before);
  });

  it('edits every kind of field, with the JSON of a task type schema checked inline', async () => {
    await page.goto(`${s.url}/agents/new`);
    await page.getByLabel('Name', { exact: true }).fill('editor');
    await page.getByLabel('Instructions (system prompt)').fill('You edit text.');
    await page.getByRole('checkbox', { name: /^calculator/ }).check();
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByRole('heading', { name: 'editor' }).waitFor();
    const id = new URL(page.url()).pathname.split('/').at(-1)!;

    await page.getByLabel('Mode', { exact: true }).selectOption('COLLABORATIVE');
    await page.getByRole('checkbox', { name: /^current_time/ }).check();
    await page.getByLabel('Skills (comma-separated)').fill('writing, editing');
    await page.getByRole('button', { name: 'Add a task type' }).click();
    await page.getByLabel('Name', { exact: true }).nth(1).fill('proofread');
    const schema = page.getByLabel('Input schema (JSON Schema)');
    await schema.fill('{"type": "object", ');
    await page.getByText(/The schema/).waitFor();
    assert.equal(await schema.getAttribute('aria-invalid'), 'true');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('alert').getByText('Check Input schema (JSON Schema) before saving.').waitFor();
    await schema.fill('{"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}');
    assert.equal(await schema.getAttribute('aria-invalid'), 'false');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText(/Saved \(version 2\)/).waitFor();
    const a = (await s.request('GET', `/v1/agents/${id}`)).body;
    assert.equal(a.mode, 'COLLABORATIVE');
    assert.deepEqual(a.tools, ['calculator', 'current_time']);
    assert.deepEqual(a.skills, ['writing', 'editing']);
    assert.deepEqual(a.task_types, [
      {
        name: 'proofread',
        input_schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
      },
    ]);
  });

  it('sets the answer format to JSON matching a schema, checked inline, and back to free text', async () => {
    const { body: a } = await s.request('POST', '/v1/agents', { body: { name: 'shaper' } });
    await page.goto(`${s.url}/agents/${a.id}`);
    await page.getByRole('heading', { name: 'shaper' }).waitFor();
    await page.getByLabel('Answer format').selectOption({ label: 'JSON matching a schema' });
    const schema = page.getByLabel('JSON Schema', { exact: true });
    await schema.fill('{"type": "object"');
    await page.getByText(/^The schema /).waitFor();
    assert.equal(await schema.getAttribute('aria-invalid'), 'true');
    await page.getByLabel('Schema name').fill('a name with spaces');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('alert').getByText('Check Schema name and JSON Schema before saving.').waitFor();
    await page.getByText('Letters, digits, "_" and "-", at most 64.').waitFor();
    await page.getByLabel('Schema name').fill('verdict');
    await schema.fill('{"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText(/Saved \(version 2\)/).waitFor();
    const saved = (await s.request('GET', `/v1/agents/${a.id}`)).body;
    assert.deepEqual(saved.response_format, {
      type: 'json_schema',
      json_schema: {
        name: 'verdict',
        schema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
      },
    });
    // Its answers are JSON to that schema.
    const chat = await s.request('POST', `/v1/agents/${a.id}/chat`, {
      body: { message: 'is it?', stream: false },
    });
    assert.equal(chat.status, 200, chat.text);
    assert.equal(typeof JSON.parse(chat.body.response.text).ok, 'boolean');

    await page.reload();
    await page.getByLabel('Schema name').waitFor();
    assert.equal(await page.getByLabel('Schema name').inputValue(), 'verdict');
    await page.getByLabel('Answer format').selectOption({ label: 'Free text' });
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText(/Saved \(version 3\)/).waitFor();
    assert.equal((await s.request('GET', `/v1/agents/${a.id}`)).body.response_format, null);
  });

  it("edits the agent's own budget as an admin, beside tenants.yaml's entry; a write key only sees it", async () => {
    s.app.services.policies.set({
      tenants: { default: { budgets: { agents: { capped: { tokens_per_month: 900_000 } } } } },
    });
    const { body: a } = await s.request('POST', '/v1/agents', { body: { name: 'capped' } });
    await page.goto(`${s.url}/agents/${a.id}`);
    await page.getByRole('heading', { name: 'capped' }).waitFor();
    await page.getByText('tokens per month: 900000').waitFor();
    const perDay = page.getByLabel('Tokens per day');
    await perDay.fill('lots');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('A whole number above 0, or empty.').waitFor();
    assert.equal(await perDay.getAttribute('aria-invalid'), 'true');
    await perDay.fill('5000');
    await page.getByLabel('Cost per month').fill('2.5');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText(/Saved \(version 2\)/).waitFor();
    assert.deepEqual((await s.request('GET', `/v1/agents/${a.id}`)).body.budget, {
      tokens_per_day: 5000,
      cost_per_month: 2.5,
    });

    const writer = await s.request('POST', '/v1/keys', { body: { name: 'writer', scopes: ['write'] } });
    const other = await browser.newPage();
    try {
      await openSignedIn(other, s.url, writer.body.secret, `/agents/${a.id}`);
      await other.getByText('Only a tenant admin may change this agent’s budget.').waitFor();
      assert.equal(await other.getByLabel('Tokens per day').inputValue(), '5000');
      assert.equal(await other.getByLabel('Tokens per day').isDisabled(), true);
      await other.getByLabel('Description', { exact: true }).fill('changed by a writer');
      await other.getByRole('button', { name: 'Save changes' }).click();
      await other.getByText(/Saved \(version 3\)/).waitFor();
    } finally {
      await other.close();
    }

    await page.reload();
    await page.getByLabel('Tokens per day').fill('');
    await page.getByLabel('Cost per month').fill('');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText(/Saved \(version 4\)/).waitFor();
    const after = (await s.request('GET', `/v1/agents/${a.id}`)).body;
    assert.equal(after.budget, null, 'emptied: tenants.yaml alone applies');
    assert.equal(after.description, 'changed by a writer');
    s.app.services.policies.set({});
  });

  it("shows an API refusal on the field it names (a taken name's 409 under Name)", async () => {
    await page.goto(`${s.url}/agents/new`);
    const name = page.getByLabel('Name', { exact: true });
    await name.fill('editor');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByText('An agent named editor already exists; choose another name.').waitFor();
    assert.equal(await name.getAttribute('aria-invalid'), 'true');
  });

  it('makes a local-dev agent with its scaffold download and its deployments', async () => {
    await page.goto(`${s.url}/agents/local-dev`);
    await page.getByLabel('Name').fill('my-local');
    await page.getByRole('button', { name: 'Create local-dev agent' }).click();
    await page.getByRole('heading', { name: 'Local development' }).waitFor();
    await page.getByText('Nothing deployed yet').waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download the scaffold (my-local.zip)' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'my-local.zip');
    const bytes = await (await download.createReadStream()).toArray();
    assert.equal(Buffer.concat(bytes).subarray(0, 2).toString(), 'PK', 'a zip');
  });

  it('searches and filters the list, and deletes an agent after confirmation', async () => {
    await page.goto(`${s.url}/agents`);
    await page.getByLabel('Search by name').fill('edit');
    await page.getByRole('link', { name: 'editor' }).waitFor();
    await page.getByRole('link', { name: 'my-local' }).waitFor({ state: 'hidden' });
    await page.getByLabel('Search by name').fill('');
    await page.getByLabel('Made').selectOption('local');
    await page.getByRole('link', { name: 'my-local' }).waitFor();
    await page.getByRole('link', { name: 'editor' }).waitFor({ state: 'hidden' });
    await page.getByRole('link', { name: 'my-local' }).click();
    const id = new URL(page.url()).pathname.split('/').at(-1)!;
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('alertdialog');
    await dialog.getByRole('button', { name: 'Keep it' }).click();
    assert.equal((await s.request('GET', `/v1/agents/${id}`)).status, 200);
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await dialog.getByRole('button', { name: 'Delete my-local' }).click();
    await page.getByRole('heading', { name: 'Agents', exact: true }).waitFor();
    assert.equal((await s.request('GET', `/v1/agents/${id}`)).status, 404);
    assert.deepEqual(
      errors.filter((e) => !e.includes('409')),
      [],
    );
  });
});
