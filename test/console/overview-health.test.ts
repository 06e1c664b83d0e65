import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { collectPageErrors, launchBrowser, openSignedIn } from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { FakeUpstream } from '../models/helpers/fake-upstream.ts';

/**
 * The Overview shows one light per model provider: a provider whose upstream fails until its breaker
 * opens turns amber (with "breaker open" beside it and in its detail), the system amber, the rest green.
 */
describe('web console: Overview health per model provider', () => {
  let s: TestServer;
  let browser: Browser;
  const down = new FakeUpstream();
  before(async () => {
    await down.start();
    down.answer({ status: 500, body: { error: { message: 'boom' } } });
    [s, browser] = await Promise.all([
      startServer('pglite', {
        models: {
          providers: { flaky: { type: 'openai', base_url: `${down.url}/v1` } },
          retries: { max: 0, base_ms: 1, max_ms: 10 },
          breaker: { failure_threshold: 1, reset_ms: 600_000 },
        },
      }),
      launchBrowser(),
    ]);
  });
  after(async () => {
    await browser?.close();
    await s?.close();
    await down.close();
  });

  it('turns the failing provider and the system amber, and says its breaker is open', async () => {
    const failed = await s.request('POST', '/v1/chat/completions', {
      body: { model: 'flaky/any', messages: [{ role: 'user', content: 'hi' }] },
    });
    assert.ok(failed.status === 502 || failed.status === 503, failed.text);
    assert.equal(down.seen.length, 1);

    const page = await browser.newPage();
    const errors = collectPageErrors(page);
    await openSignedIn(page, s.url, s.adminKey);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    // openSignedIn stops at /health/live first, whose missing favicon the browser reports.
    errors.length = 0;
    await page.getByText('System: amber').waitFor();
    const components = page.getByRole('list', { name: 'Components' });
    const flaky = components.getByRole('button', { name: /^model:flaky amber · breaker open$/ });
    await flaky.waitFor();
    await components.getByRole('button', { name: /^model:mock green$/ }).waitFor();
    await flaky.click();
    // The detail opens under the light: the breaker's state and the provider's type.
    const item = components
      .getByRole('listitem')
      .filter({ has: page.getByRole('button', { name: /^model:flaky / }) });
    await item
      .getByRole('definition')
      .filter({ hasText: /^open$/ })
      .waitFor();
    await item
      .getByRole('definition')
      .filter({ hasText: /^openai$/ })
      .waitFor();
    await item
      .getByRole('definition')
      .filter({ hasText: /^degraded, answered in/ })
      .waitFor();
    assert.deepEqual(errors, []);
    await page.close();
  });
});
