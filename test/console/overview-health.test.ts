import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { collectPageErrors, launchBrowser, openSignedIn } from '../helpers/browser.ts';
import { closedPort } from '../helpers/closed-port.ts';
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
          providers: {
            flaky: { type: 'openai', base_url: `${down.url}/v1` },
            paid: { type: 'openai', api_key_env: 'AGENTRY_TEST_KEY_NEVER_SET' },
          },
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

  it('shows off in grey with why, not configured not green, and an MCP server its test found unreachable in red', async () => {
    const me = await s.app.services.tenants.find(s.app.defaultTenantId);
    s.app.services.policies.set({ tenants: { [me!.name]: { network: { allow_private_egress: true } } } });
    const added = await s.request('POST', '/v1/mcp-servers', {
      body: { name: 'gone', transport: 'http', url: `http://127.0.0.1:${await closedPort()}/mcp` },
    });
    assert.equal(added.status, 201, added.text);
    const page = await browser.newPage();
    await openSignedIn(page, s.url, s.adminKey, '/settings');
    const mcp = page.getByRole('region', { name: 'MCP servers' });
    await mcp.getByRole('button', { name: 'Test gone' }).click();
    await mcp.getByText('unreachable').waitFor();

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
    const components = page.getByRole('list', { name: 'Components' });
    await components
      .getByRole('button', { name: /^vector_search grey · off: set AGENTRY_EMBEDDINGS/ })
      .waitFor();
    await components
      .getByRole('button', { name: 'model:paid grey · not configured: set AGENTRY_TEST_KEY_NEVER_SET' })
      .waitFor();
    await components.getByRole('button', { name: /^mcp:gone red · unreachable: / }).waitFor();
    assert.equal(
      await components.getByRole('button', { name: /^(vector_search|model:paid|mcp:gone) green/ }).count(),
      0,
    );

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    const paid = page.getByRole('region', { name: 'Model providers' }).getByRole('row', { name: /^paid / });
    await paid.getByText('not configured: set AGENTRY_TEST_KEY_NEVER_SET').waitFor();
    assert.equal(await paid.getByText('ready').count(), 0);
    await page.close();
  });
});
