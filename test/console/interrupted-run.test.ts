import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { collectPageErrors, launchBrowser, openSignedIn } from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { createAgent, sse } from '../runtime/helpers.ts';

/**
 * The run page of an interrupted run (a non-idempotent tool call was in flight when its process
 * died): what stopped it, the recorded call with its arguments, and Resume / Cancel, in a real
 * browser against a real server. The crash itself is tested with real processes in
 * test/runtime/durable.test.ts; here a run paused on a tool call is put in the state a takeover
 * leaves (status, error and the pending calls), with the statement a takeover's would write.
 */
describe('web console: an interrupted run', () => {
  let s: TestServer;
  let browser: Browser;
  let agentId: string;

  before(async () => {
    [s, browser] = await Promise.all([startServer('pglite'), launchBrowser()]);
    const agent = await createAgent(s, {
      name: 'writer',
      model: 'mock/writer',
      mode: 'COLLABORATIVE',
      tools: ['write_file'],
    });
    agentId = agent.id;
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  /** A run stopped during write_file with these arguments. */
  async function interruptedRun(file: string): Promise<string> {
    s.app.services.models.mock.script('writer', [
      { tool_calls: [{ name: 'write_file', arguments: { path: file, content: 'hello' } }] },
    ]);
    const read = await sse(`${s.url}/v1/agents/${agentId}/chat`, {
      key: s.adminKey,
      body: { message: `write ${file}` },
      stop: (e) => e.event === 'approval_required',
    });
    const runId = read.events[0]!.data.run_id as string;
    await s.app.db.query(
      `update runs set status = 'interrupted', error_code = 'interrupted',
         error_message = 'interrupted during tool write_file; not idempotent', lease_owner = null,
         lease_expires_at = null, updated_at = now()
       where id = $1 and status = 'input_required'`,
      [runId],
    );
    return runId;
  }

  async function open(runId: string): Promise<{ page: Page; errors: { list: string[] } }> {
    const page = await (await browser.newContext()).newPage();
    const all = collectPageErrors(page);
    // The favicon the browser asks for is no request of the page: failed requests are listed by
    // the listener below, with their URL (the browser's own line has none).
    const errors = {
      get list() {
        return all.filter((e) => !e.startsWith('console: Failed to load resource'));
      },
      push: (e: string) => all.push(e),
    };
    page.on('response', (r) => {
      if (r.status() >= 400)
        errors.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
    });
    await openSignedIn(page, s.url, s.adminKey, `/runs/${runId}`);
    return { page, errors };
  }

  it('shows the tool and its recorded arguments, and Resume carries the run on to the end', async () => {
    const runId = await interruptedRun('resumed.txt');
    const { page, errors } = await open(runId);
    const panel = page.getByRole('region', { name: 'Interrupted run' });
    await panel.getByText('interrupted during tool write_file; not idempotent').waitFor();
    const args = panel.getByRole('region', { name: 'Arguments of write_file' });
    await args.getByText('"path": "resumed.txt"').waitFor();
    assert.match(await args.innerText(), /"content": "hello"/);
    await panel.getByRole('button', { name: 'Cancel' }).waitFor();
    await panel.getByRole('button', { name: 'Resume' }).click();
    // The page follows the resumed run until it ends.
    await page.locator('.page-head').getByText('completed').waitFor({ timeout: 30_000 });
    assert.equal(await panel.count(), 0, 'the interrupted panel goes once the run carries on');
    const run = await s.request('GET', `/v1/runs/${runId}`);
    assert.equal(run.body.status, 'completed');
    assert.deepEqual(errors.list, []);
  });

  it('Cancel ends the run as cancelled', async () => {
    const runId = await interruptedRun('cancelled.txt');
    const { page, errors } = await open(runId);
    const panel = page.getByRole('region', { name: 'Interrupted run' });
    await panel
      .getByRole('region', { name: 'Arguments of write_file' })
      .getByText('"path": "cancelled.txt"')
      .waitFor();
    await panel.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('.page-head').getByText('cancelled').waitFor({ timeout: 30_000 });
    const run = await s.request('GET', `/v1/runs/${runId}`);
    assert.equal(run.body.status, 'cancelled');
    assert.deepEqual(errors.list, []);
  });
});
