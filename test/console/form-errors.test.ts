import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openFresh } from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/**
 * Form errors where the field is (issue 66, point 3): the form's own checks and the API's 400 by
 * its path land under their field, focus goes there, the problem goes when the field changes, and
 * a JSON Schema is judged in the page by the server's rules before anything is saved.
 */
describe('web console: form errors on their fields', () => {
  let s: TestServer;
  let browser: Browser;
  before(async () => {
    [s, browser] = await Promise.all([startServer('pglite'), launchBrowser()]);
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  /** A fresh context per test, signed in, on `path`; the requests it sends, by method and path. */
  async function open(path: string) {
    const { page, errors } = await openFresh(browser, s.url, s.adminKey, path);
    const sent: string[] = [];
    page.on('request', (r) => sent.push(`${r.method()} ${new URL(r.url()).pathname}`));
    return { page, errors, sent };
  }
  /** What the page logged besides Chromium's own line for an answer it was meant to get (a 400). */
  const unexpected = (errors: string[]) => errors.filter((e) => !/status of 400/.test(e));
  const focusedId = (page: Page) => page.evaluate('document.activeElement && document.activeElement.id');

  it('an empty agent names the field, puts the problem under it, focuses it, and lets it go on change', async () => {
    const { page, errors, sent } = await open('/agents/new');
    const name = page.getByLabel('Name', { exact: true });
    await name.waitFor();
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByRole('alert').getByText('Check Name before saving.').waitFor();
    assert.equal(await name.getAttribute('aria-invalid'), 'true');
    assert.equal(await focusedId(page), await name.getAttribute('id'), 'focus is on the field');
    const describedBy = await name.getAttribute('aria-describedby');
    assert.equal(await page.locator(`[id="${describedBy}"]`).textContent(), 'A name is required.');
    // The summary's link goes to the field too.
    await page.getByRole('alert').getByRole('link', { name: 'Name' }).click();
    assert.equal(await focusedId(page), await name.getAttribute('id'));

    await name.pressSequentially('x');
    assert.equal(await name.getAttribute('aria-invalid'), 'false', 'changing the field clears its problem');
    assert.equal(await page.getByText('A name is required.').count(), 0);
    assert.equal(await page.getByRole('alert').count(), 0);
    assert.ok(!sent.includes('POST /v1/agents'), 'nothing was sent');
    assert.deepEqual(unexpected(errors), []);
  });

  it("a name the server refuses: its 400 lands under Name by the error's path, focused, gone on change", async () => {
    const { page, errors } = await open('/agents/new');
    const name = page.getByLabel('Name', { exact: true });
    await name.fill('bad name!');
    const refused = page.waitForResponse((r) => r.url().endsWith('/v1/agents') && r.status() === 400);
    await page.getByRole('button', { name: 'Create agent' }).click();
    await refused;
    const problem = page.getByText(/^Letters, digits, spaces/);
    await problem.waitFor();
    assert.equal(await name.getAttribute('aria-invalid'), 'true');
    assert.equal(await problem.getAttribute('id'), await name.getAttribute('aria-describedby'));
    await page.getByRole('alert').getByText('Check Name before saving.').waitFor();
    assert.equal(await focusedId(page), await name.getAttribute('id'));
    assert.equal(await page.getByText(/validation_error/).count(), 0, 'no raw error at the bottom');

    await name.fill('good-name');
    assert.equal(await problem.count(), 0, 'fixing the field clears the server’s problem');
    assert.equal(await name.getAttribute('aria-invalid'), 'false');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByRole('heading', { name: 'good-name' }).waitFor();
    assert.deepEqual(unexpected(errors), []);
  });

  it('a name another agent has: the 409 lands under Name too', async () => {
    await s.request('POST', '/v1/agents', { body: { name: 'taken', model: 'mock/default' } });
    const { page, errors } = await open('/agents/new');
    const name = page.getByLabel('Name', { exact: true });
    await name.fill('taken');
    await page.getByRole('button', { name: 'Create agent' }).click();
    const problem = page.getByText('An agent named taken already exists; choose another name.');
    await problem.waitFor();
    assert.equal(await problem.getAttribute('id'), await name.getAttribute('aria-describedby'));
    assert.equal(await focusedId(page), await name.getAttribute('id'));
    assert.equal(await page.getByText(/409 conflict/).count(), 0);
    assert.deepEqual(
      unexpected(errors).filter((e) => !/status of 409/.test(e)),
      [],
    );
  });

  it("judges an answer format's JSON Schema in the page by the server's rules, before saving", async () => {
    const { page, errors, sent } = await open('/agents/new');
    await page.getByLabel('Name', { exact: true }).fill('shaped');
    await page.getByLabel('Answer format').selectOption({ label: 'JSON matching a schema' });
    const schema = page.getByLabel('JSON Schema', { exact: true });
    // Out of the server's bounds (src/text/schema-limits.ts): said at once, from the page itself.
    await schema.fill('{"type": "array", "items": {"type": "string"}, "minItems": 20000}');
    await page.getByText('At minItems: minItems is 20000; at most 10000.').waitFor();
    assert.equal(await schema.getAttribute('aria-invalid'), 'true');
    assert.ok(!sent.some((r) => r.startsWith('POST /v1/json-schemas')), 'bounds need no request');

    // Within bounds but not a schema ajv compiles: the server's check says so while typing.
    await schema.fill('{"type": "objekt"}');
    await page.getByText(/^Not a usable JSON Schema/).waitFor();
    assert.equal(await schema.getAttribute('aria-invalid'), 'true');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByRole('alert').getByText('Check JSON Schema before saving.').waitFor();
    assert.equal(await focusedId(page), await schema.getAttribute('id'));
    assert.ok(!sent.includes('POST /v1/agents'), 'a schema known bad is not sent');

    await schema.fill('{"type": "object", "properties": {"ok": {"type": "boolean"}}}');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByRole('heading', { name: 'shaped' }).waitFor();
    assert.deepEqual(unexpected(errors), []);
  });

  it("a schedule's cron the server refuses lands under Cron, focused, and nowhere else", async () => {
    await s.request('POST', '/v1/agents', { body: { name: 'clerk', model: 'mock/default' } });
    const { page, errors } = await open('/tasks/schedules');
    const create = page.getByRole('button', { name: 'Create schedule' });
    await create.click();
    // The page's own checks first: each empty field named, focus on the first.
    await page.getByRole('alert').getByText('Check Name, Agent and Task title before creating it.').waitFor();
    assert.equal(await focusedId(page), await page.getByLabel('Name', { exact: true }).getAttribute('id'));

    await page.getByLabel('Name', { exact: true }).fill('nightly');
    await page.getByLabel('Agent').selectOption({ label: 'clerk' });
    await page.getByLabel('Task title').fill('Tidy up');
    await page.getByLabel('Timing').selectOption('cron');
    const cron = page.getByLabel('Cron');
    await cron.fill('61 * * * *');
    await create.click();
    const problem = page.getByText(/^Invalid cron expression "61 \* \* \* \*"/);
    await problem.waitFor();
    assert.equal(await cron.getAttribute('aria-invalid'), 'true');
    assert.equal(await focusedId(page), await cron.getAttribute('id'));
    assert.equal(await page.getByText(/validation_error/).count(), 0);
    await cron.fill('0 3 * * *');
    assert.equal(await problem.count(), 0);
    await create.click();
    await page.getByRole('row', { name: /nightly/ }).waitFor();
    assert.deepEqual(unexpected(errors), []);
  });

  it('an experiment without evaluators names the group and takes the focus there', async () => {
    const { body: ds } = await s.request('POST', '/v1/datasets', { body: { name: 'golden' } });
    const { body: agent } = await s.request('POST', '/v1/agents', {
      body: { name: 'judge', model: 'mock/default' },
    });
    const { page, errors } = await open(`/experiments/new?dataset=${ds.id}&agent=${agent.id}`);
    await page.getByRole('checkbox', { name: 'exact_match' }).uncheck();
    await page.getByRole('button', { name: 'Start experiment' }).click();
    await page.getByRole('alert').getByText('Check Evaluators before starting it.').waitFor();
    const group = page.getByRole('group', { name: 'Evaluators', exact: true });
    assert.equal(await focusedId(page), await group.getAttribute('id'));
    await page.getByText('Pick at least one evaluator.').waitFor();
    await page.getByRole('checkbox', { name: 'exact_match' }).check();
    assert.equal(await page.getByText('Pick at least one evaluator.').count(), 0);
    assert.deepEqual(unexpected(errors), []);
  });

  it("a new task: the payload's problem from the server lands on its field, focused, and the title's in the page", async () => {
    const { body: agent } = await s.request('POST', '/v1/agents', {
      body: {
        name: 'summer',
        model: 'mock/default',
        task_types: [
          {
            name: 'sum',
            input_schema: {
              type: 'object',
              properties: { code: { type: 'string', pattern: '^[A-Z]+$' } },
              required: ['code'],
            },
          },
        ],
      },
    });
    const { page, errors } = await open('/tasks/new');
    await page.getByLabel('Agent').selectOption(agent.id);
    const create = page.getByRole('button', { name: 'Create task' });
    await page.getByLabel('code').fill('lower');
    await create.click();
    await page.getByRole('alert').getByText('Check Title before creating it.').waitFor();
    assert.equal(await focusedId(page), await page.getByLabel('Title *').getAttribute('id'));
    await page.getByLabel('Title *').fill('Add up');
    await create.click();
    const code = page.getByLabel('code');
    const problem = page.getByText(/^Must match pattern/);
    await problem.waitFor();
    assert.equal(await problem.getAttribute('id'), await code.getAttribute('aria-describedby'));
    assert.equal(await focusedId(page), await code.getAttribute('id'));
    await code.fill('UPPER');
    assert.equal(await problem.count(), 0);
    await create.click();
    await page.waitForURL(/\/tasks\/[0-9a-f-]{36}$/);
    assert.deepEqual(unexpected(errors), []);
  });

  it('a new team names what is missing rather than sitting disabled', async () => {
    const { page, errors, sent } = await open('/teams');
    await page.getByRole('button', { name: 'New team' }).click();
    await page.getByRole('button', { name: 'Create team' }).click();
    await page
      .getByRole('alert')
      .getByText('Check Name and Members (the first is the entry) before creating it.')
      .waitFor();
    assert.equal(await focusedId(page), await page.getByLabel('Name', { exact: true }).getAttribute('id'));
    assert.ok(!sent.includes('POST /v1/multi-agents'));
    assert.deepEqual(unexpected(errors), []);
  });

  it('signing in without a key says so under the field and focuses it', async () => {
    const page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(s.url);
    const key = page.getByLabel('API key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Paste an API key (agk_…).', { exact: true }).waitFor();
    assert.equal(await key.getAttribute('aria-invalid'), 'true');
    assert.equal(await focusedId(page), await key.getAttribute('id'));
    await key.fill(s.adminKey);
    assert.equal(await key.getAttribute('aria-invalid'), 'false');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  });

  it('a draft from a requirement too short to read is refused on the field, not by a silent button', async () => {
    const { page, errors, sent } = await open('/agents/generate');
    const requirement = page.getByLabel('What should it do?');
    await requirement.fill('ab');
    await page.getByRole('button', { name: 'Draft it' }).click();
    await page.getByText('Describe what it should do (3 characters or more).').waitFor();
    assert.equal(await focusedId(page), await requirement.getAttribute('id'));
    assert.ok(!sent.some((r) => r.startsWith('POST /v1/agents/generate')));
    assert.deepEqual(unexpected(errors), []);
  });
});
