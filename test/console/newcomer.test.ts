import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { collectPageErrors, launchBrowser } from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/**
 * A newcomer's first minutes in the console, in a real Chromium against a real server: the sign-in
 * link, a green overview, an agent from a template, then a chat in the playground that streams,
 * calls a tool that needs approval, and answers once approved.
 */
describe('web console: the newcomer path', () => {
  let s: TestServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let agentId: string;
  before(async () => {
    [s, browser] = await Promise.all([startServer('pglite'), launchBrowser()]);
    page = await browser.newPage();
    page.setDefaultTimeout(30_000);
    errors = collectPageErrors(page);
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('signs in with the printed link and shows a green overview with its components', async () => {
    await page.goto(`${s.url}/#sign-in=${s.app.http.signInLinks.issue()}`);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByText('System: green').waitFor();
    const components = page.getByRole('list', { name: 'Components' });
    const store = components.getByRole('button', { name: /^store/ });
    await store.focus();
    await page.keyboard.press('Enter');
    await components
      .getByText(/answered in \d+ ms/)
      .first()
      .waitFor();
    assert.equal(await store.getAttribute('aria-expanded'), 'true');
    await page.getByText('Nothing ran in the last hour').waitFor();
  });

  it('makes an agent from a template: the template fills the form, the fields set by the user win', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agents' }).click();
    await page.getByRole('heading', { name: 'No agents yet' }).waitFor();
    await page.getByRole('link', { name: 'From a template' }).click();
    await page.getByRole('button', { name: 'Use Basic Assistant' }).click();
    const instructions = page.getByLabel('Instructions (system prompt)');
    assert.match(await instructions.inputValue(), /careful, helpful assistant/);
    await page.getByLabel('Name', { exact: true }).fill('helper');
    await page.getByLabel('Model', { exact: true }).selectOption('mock/default');
    await page.getByLabel('Description', { exact: true }).fill('My first agent');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByRole('heading', { name: 'helper' }).waitFor();
    agentId = new URL(page.url()).pathname.split('/').at(-1)!;
    const agent = await s.request('GET', `/v1/agents/${agentId}`);
    assert.equal(agent.body.description, 'My first agent', 'the field the user set');
    assert.equal(agent.body.template_id, 'basic-assistant');
    assert.equal(agent.body.mode, 'COLLABORATIVE', 'the template fills what the user left');
    assert.ok(agent.body.tools.includes('write_file'));
  });

  it('chats in the playground: a streamed answer, a tool call approved, then the answer', async () => {
    await page.getByRole('link', { name: 'Chat with it' }).click();
    await page.getByRole('heading', { name: 'Playground' }).waitFor();
    const box = page.getByLabel('Message to helper');
    await box.fill('hello there, are you listening to me today?');
    await box.press('Enter');
    const log = page.getByRole('log', { name: 'Conversation' });
    await log.getByText('You said: hello there, are you listening to me today?').waitFor();
    const runs = await s.request('GET', `/v1/runs?agent_id=${agentId}`);
    const first = runs.body.data[0];
    const replay = await fetch(`${s.url}/v1/runs/${first.id}/stream`, {
      headers: { authorization: `Bearer ${s.adminKey}` },
    });
    const frames = (await replay.text()).match(/^event: text$/gm) ?? [];
    assert.ok(frames.length > 1, `the answer came in ${frames.length} text events`);

    await box.fill('use the write_file tool {"path": "notes.txt", "content": "hello from the console"}');
    await page.getByRole('button', { name: 'Send' }).click();
    const card = log.getByRole('article', { name: 'Tool call write_file' });
    await card.getByText('waiting for approval').waitFor();
    await card.getByText('"content": "hello from the console"').waitFor();
    await page
      .getByRole('group', { name: 'Approval needed' })
      .getByRole('button', { name: 'Approve' })
      .click();
    await log.getByText(/The write_file tool returned:/).waitFor();
    await card.getByText(/approved/).waitFor();
    await card.getByText(/^\d+ ms/).waitFor();
    await page.getByText(/[1-9][\d,]* tokens/).waitFor();

    const sessions = page.getByRole('complementary', { name: 'Sessions' });
    await sessions.getByRole('button', { name: /hello there/ }).waitFor();
    assert.deepEqual(errors, []);
  });

  it('finds the chat among the runs and opens its waterfall, the approved tool call one of its steps', async () => {
    const runs = await s.request('GET', `/v1/runs?agent_id=${agentId}`);
    const traces = await Promise.all(
      runs.body.data.map(async (r: { id: string }) => ({
        id: r.id,
        trace: (await s.request('GET', `/v1/runs/${r.id}/trace`)).body,
      })),
    );
    const toolRun = traces.find((t) => JSON.stringify(t.trace).includes('write_file'));
    assert.ok(toolRun, 'the run that called write_file has a trace');
    const playground = page.url();
    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    await page.getByRole('link', { name: toolRun.id.slice(-8) }).click();
    const waterfall = page.getByRole('list', { name: 'Waterfall' });
    await waterfall.getByRole('button', { name: /tool · write_file/ }).waitFor();
    await waterfall
      .getByRole('button', { name: /^model · / })
      .first()
      .waitFor();
    assert.deepEqual(errors, []);
    // Back to the playground, where the next steps chat on.
    await page.goto(playground);
    await page.getByRole('button', { name: 'New chat' }).waitFor();
  });

  it('resumes a dropped stream from the last event id: no text repeated, none missing', async () => {
    // The chat's own connection is cut after its third text event; the console must pick the run
    // up from GET /v1/runs/:id/stream with Last-Event-ID.
    await page.route('**/v1/agents/*/chat', async (route) => {
      const res = await route.fetch();
      const body = await res.text();
      const frames = body.split('\n\n');
      const cut = frames.findIndex(
        (f, i) =>
          f.includes('event: text') &&
          frames.slice(0, i + 1).filter((x) => x.includes('event: text')).length === 3,
      );
      await route.fulfill({
        status: 200,
        headers: res.headers(),
        body: `${frames.slice(0, cut + 1).join('\n\n')}\n\n`,
      });
    });
    const resumed: string[] = [];
    page.on('request', (r) => {
      if (/\/v1\/runs\/[\w-]+\/stream$/.test(r.url())) resumed.push(r.headers()['last-event-id'] ?? '');
    });
    await page.getByRole('button', { name: 'New chat' }).click();
    const message = 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen';
    await page.getByLabel('Message to helper').fill(message);
    await page.getByRole('button', { name: 'Send' }).click();
    const log = page.getByRole('log', { name: 'Conversation' });
    await log.getByText(`You said: ${message}`).waitFor();
    await page.unroute('**/v1/agents/*/chat');
    const answer = await log.locator('.bubble.assistant').last().innerText();
    assert.equal(answer.replace(/^helper:\s*/, ''), `You said: ${message}`);
    assert.equal(resumed.length, 1, 'one resumption');
    assert.match(resumed[0]!, /^\d+$/, 'from the last event id it saw');
    assert.deepEqual(errors, []);
  });

  it('stops a run that is still thinking', async () => {
    s.app.services.models.mock.script('default', [{ content: 'too late', delay_ms: 60_000 }]);
    await page.getByRole('button', { name: 'New chat' }).click();
    await page.getByLabel('Message to helper').fill('take your time');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.getByText('Stopped.').waitFor();
    await page.getByRole('button', { name: 'Send' }).waitFor();
    const runs = await s.request('GET', `/v1/runs?agent_id=${agentId}&limit=1`);
    assert.equal(runs.body.data[0].status, 'cancelled');
    assert.equal(await page.getByText('too late').count(), 0);
  });

  it('stops a run whose stream has not named it yet, once it does', async () => {
    s.app.services.models.mock.script('default', [{ content: 'too late', delay_ms: 60_000 }]);
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/v1/agents/*/chat', async (route) => {
      await held;
      await route.continue();
    });
    await page.getByRole('button', { name: 'New chat' }).click();
    await page.getByLabel('Message to helper').fill('stop me before you start');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.getByRole('button', { name: 'Stopping…' }).waitFor();
    release();
    await page.getByText('Stopped.').waitFor();
    await page.unroute('**/v1/agents/*/chat');
    const runs = await s.request('GET', `/v1/runs?agent_id=${agentId}&limit=1`);
    assert.equal(runs.body.data[0].status, 'cancelled');
  });

  it('reopens an earlier session from the sidebar with its messages and tool cards', async () => {
    await page.reload();
    const sessions = page.getByRole('complementary', { name: 'Sessions' });
    await sessions.getByRole('button', { name: /hello there/ }).click();
    const log = page.getByRole('log', { name: 'Conversation' });
    await log.getByText('You said: hello there, are you listening to me today?').waitFor();
    const card = log.getByRole('article', { name: 'Tool call write_file' });
    await card.getByText('Arguments').click();
    await card.getByText('"path": "notes.txt"').waitFor();
    await card.getByText('Result', { exact: true }).waitFor();
    await log.getByText(/The write_file tool returned:/).waitFor();
    assert.match(new URL(page.url()).search, /session=/);
    await page.getByText(/[1-9][\d,]* tokens/).waitFor();
  });
});
