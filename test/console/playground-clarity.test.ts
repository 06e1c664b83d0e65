import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, signedInTab } from '../helpers/browser.ts';
import { eventually } from '../helpers/eventually.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { createAgent } from '../runtime/helpers.ts';
import { submitTask, taskSettled } from './tasks.ts';

/**
 * What a newcomer could not tell apart (issue: console from working to trusted, points 6 and 8):
 * chats from other work in the playground, the version it talks to, the pre-made agents, the
 * experiment lanes in the task list, a team that cannot be created yet, and the console at phone
 * width. One browser; a context per test.
 */
describe('web console: the playground and pickers say what things are', () => {
  let s: TestServer;
  let browser: Browser;
  let clerk: { id: string; name: string };

  before(async () => {
    [s, browser] = await Promise.all([startServer('pglite'), launchBrowser()]);
    clerk = await createAgent(s, { name: 'clerk', model: 'mock/default' });
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  const tab = async (viewport?: { width: number; height: number }) => {
    const t = await signedInTab(browser, s.url, s.adminKey, viewport);
    t.page.setDefaultTimeout(30_000);
    return t;
  };

  it('lists only chats as sessions, counts exchanges, and shows the version the chat is pinned to', async () => {
    // Two exchanges of a chat; then version 2; then a task's run and an experiment's item runs.
    const first = await s.request('POST', `/v1/agents/${clerk.id}/chat`, {
      body: { message: 'first question', stream: false },
    });
    assert.equal(first.status, 200, first.text);
    const second = await s.request('POST', `/v1/agents/${clerk.id}/chat`, {
      body: { message: 'second question', session_id: first.body.session_id, stream: false },
    });
    assert.equal(second.status, 200, second.text);
    const patched = await s.request('PATCH', `/v1/agents/${clerk.id}`, { body: { description: 'v2' } });
    assert.equal(patched.body.version, 2, patched.text);
    await taskSettled(s, await submitTask(s, clerk.id, 'a queued job'), 'completed');
    const dataset = await s.request('POST', '/v1/datasets', {
      body: {
        name: 'probe',
        items: [{ input: { message: 'item one' } }, { input: { message: 'item two' } }],
      },
    });
    assert.equal(dataset.status, 201, dataset.text);
    const experiment = await s.request('POST', '/v1/experiments', {
      body: {
        name: 'probe run',
        dataset: dataset.body.id,
        agent: 'clerk',
        evaluators: [{ type: 'contains', value: 'You said' }],
      },
    });
    assert.equal(experiment.status, 201, experiment.text);
    await eventually(
      async () =>
        (await s.request('GET', `/v1/experiments/${experiment.body.id}`)).body.status === 'completed' ||
        undefined,
      15_000,
      'the experiment completed',
    );
    // The API: every session, and each kind by its origin.
    const origin = async (o?: string) =>
      (await s.request('GET', `/v1/sessions?agent_id=${clerk.id}${o ? `&origin=${o}` : ''}`)).body;
    assert.equal((await origin()).total, 4, 'a chat, a task and two experiment items');
    const chats = await origin('chat');
    assert.deepEqual(
      chats.data.map((x: { id: string }) => x.id),
      [first.body.session_id],
    );
    assert.equal(chats.data[0].exchange_count, 2);
    assert.equal(chats.data[0].message_count > 2, true, 'the raw count has the answers too');
    assert.equal((await origin('task')).total, 1);
    assert.equal((await origin('experiment')).total, 2);
    assert.equal((await s.request('GET', '/v1/sessions?origin=other')).status, 400);

    const { page } = await tab();
    await page.goto(`${s.url}/playground?agent=${clerk.id}&version=1`);
    const sessions = page.getByRole('complementary', { name: 'Sessions' });
    await sessions.getByText('2 exchanges').waitFor();
    assert.equal(await sessions.getByRole('listitem').count(), 1, 'only the chat is listed');
    assert.equal(await sessions.getByText(/item one|a queued job/).count(), 0);
    await page.getByText('clerk v1').waitFor();
    await page.getByText('pinned; the latest is v2').waitFor();
    await sessions.getByRole('button', { name: 'first question' }).click();
    await page.getByText('this session ran v1').waitFor();
    await page.goto(`${s.url}/playground?agent=${clerk.id}`);
    await page.getByText('clerk v2').waitFor();
    await page.getByText('the latest, not pinned').waitFor();
    await page.context().close();
  });

  it('names experiment lanes in the task list by the experiment and the lane', async () => {
    const dataset = await s.request('POST', '/v1/datasets', {
      body: { name: 'lanes', items: [{ input: { message: 'a' } }, { input: { message: 'b' } }] },
    });
    const experiment = await s.request('POST', '/v1/experiments', {
      body: {
        name: 'night check',
        dataset: dataset.body.id,
        agent: 'clerk',
        evaluators: [{ type: 'contains', value: 'You said' }],
        concurrency: 2,
      },
    });
    assert.equal(experiment.status, 201, experiment.text);
    const { page } = await tab();
    await page.goto(`${s.url}/tasks`);
    const tasks = page.getByRole('list', { name: 'Tasks' });
    await tasks.getByRole('link', { name: 'Experiment night check: lane 1 of 2' }).waitFor();
    await tasks.getByRole('link', { name: 'Experiment night check: lane 2 of 2' }).waitFor();
    assert.equal(await tasks.getByText(/lane 0/).count(), 0);
    const lanes = await s.request('GET', `/v1/tasks?agent_id=${clerk.id}&limit=100`);
    const lane = lanes.body.data.find((t: { title: string }) => t.title.startsWith('Experiment night check'));
    assert.match(lane.description, new RegExp(`/experiments/${experiment.body.id}`));
    await page.context().close();
  });

  it('groups and explains the pre-made operations team in pickers and the agent list', async () => {
    for (const [name, template_id] of [
      ['AEGIS', 'ops-aegis'],
      ['CONNOR', 'ops-connor'],
    ]) {
      const made = await s.request('POST', '/v1/agents', { body: { name, template_id } });
      assert.equal(made.status, 201, made.text);
    }
    const { page } = await tab();
    await page.goto(`${s.url}/playground`);
    await page.getByText(/AEGIS, CONNOR: the pre-made operations team/).waitFor();
    const group = page.getByLabel('Agent', { exact: true }).locator('optgroup');
    assert.match((await group.getAttribute('label')) ?? '', /^Pre-made operations team/);
    assert.deepEqual(await group.locator('option').allInnerTexts(), ['AEGIS', 'CONNOR']);
    assert.equal(
      await page
        .getByLabel('Agent', { exact: true })
        .locator(':scope > option', { hasText: 'clerk' })
        .count(),
      1,
      "the tenant's own agents stay outside the group",
    );
    await page.goto(`${s.url}/tasks/new`);
    await page.locator('optgroup[label^="Pre-made operations team"] option', { hasText: 'AEGIS' }).waitFor({
      state: 'attached',
    });
    await page.goto(`${s.url}/agents`);
    await page.getByRole('row', { name: /AEGIS/ }).getByText('pre-made').waitFor();
    assert.equal(await page.getByRole('row', { name: /clerk/ }).getByText('pre-made').count(), 0);
    await page.getByRole('link', { name: 'Their templates say what each does' }).waitFor();
    await page.context().close();
  });

  it('at phone width: a one-row nav on every page and the playground input in view', async () => {
    const { page } = await tab({ width: 390, height: 844 });
    for (const path of ['/', '/agents', '/runs', `/playground?agent=${clerk.id}`]) {
      await page.goto(`${s.url}${path}`);
      const nav = page.getByRole('navigation', { name: 'Main' });
      await nav.getByRole('link', { name: 'Settings' }).waitFor();
      const box = await nav.boundingBox();
      assert.ok(box && box.height <= 64, `the nav on ${path} is ${box?.height} px high`);
    }
    // The earlier chat is in the sidebar; the input is on screen without scrolling.
    const input = page.getByLabel('Message to clerk');
    await input.waitFor();
    const box = await input.boundingBox();
    assert.ok(
      box && box.y >= 0 && box.y + box.height <= 844,
      `the input is at ${box?.y}..${box && box.y + box.height}`,
    );
    assert.equal(await page.evaluate('window.scrollY'), 0);
    // A long conversation opened from its address: the transcript scrolls, the input stays in view.
    let session: string | undefined;
    for (let n = 0; n < 8; n++) {
      const said = await s.request('POST', `/v1/agents/${clerk.id}/chat`, {
        body: {
          message: `line ${n} of a long talk, long enough to wrap twice at phone width`,
          session_id: session,
          stream: false,
        },
      });
      assert.equal(said.status, 200, said.text);
      session = said.body.session_id;
    }
    await page.goto(`${s.url}/playground?agent=${clerk.id}&session=${session}`);
    await page
      .getByRole('log', { name: 'Conversation' })
      .getByText(/You said: line 7 of a long talk/)
      .waitFor();
    const after = await input.boundingBox();
    assert.ok(after && after.y >= 0 && after.y + after.height <= 844, `the input is at ${after?.y}`);
    await page.context().close();
  });
});
