import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import axe from 'axe-core';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, signedInTab } from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { createAgent } from '../runtime/helpers.ts';

/**
 * Runs ingested from apps' OpenTelemetry traces in the console: the Runs list names the app a run
 * came from ("app: travel-app") where an agent's run names its agent, filters by app, and the run's
 * page says which app it is (and offers no Playground: there is no agent to chat with).
 */

/** One OTLP/JSON export of a trace whose root span is a chat call of `service`. */
const chatTrace = (service: string, traceId: string, question: string, answer: string) => {
  const now = BigInt(Date.now()) * 1_000_000n;
  const attr = (key: string, value: string | number) => ({
    key,
    value: typeof value === 'number' ? { intValue: value } : { stringValue: value },
  });
  return {
    resourceSpans: [
      {
        resource: { attributes: [attr('service.name', service)] },
        scopeSpans: [
          {
            scope: { name: 'app' },
            spans: [
              {
                traceId,
                spanId: '0102030405060708',
                name: 'chat gpt-4o-mini',
                startTimeUnixNano: String(now - 2_000_000n),
                endTimeUnixNano: String(now),
                attributes: [
                  attr('gen_ai.operation.name', 'chat'),
                  attr('gen_ai.request.model', 'gpt-4o-mini'),
                  attr('gen_ai.usage.input_tokens', 12),
                  attr('gen_ai.usage.output_tokens', 4),
                  attr('gen_ai.input.messages', JSON.stringify([{ role: 'user', content: question }])),
                  attr('gen_ai.output.messages', JSON.stringify([{ role: 'assistant', content: answer }])),
                ],
                status: {},
              },
            ],
          },
        ],
      },
    ],
  };
};

describe('web console: runs of ingested apps', () => {
  let s: TestServer;
  let browser: Browser;
  let tab: Awaited<ReturnType<typeof signedInTab>>;

  const axeSerious = async (page: Page) => {
    await page.addScriptTag({ content: axe.source });
    return page.evaluate(
      `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`,
    ) as Promise<string[]>;
  };

  before(async () => {
    [s, browser] = await Promise.all([startServer('pglite'), launchBrowser()]);
    for (const [service, traceId, q, a] of [
      ['travel-app', 'a1'.repeat(16), 'Trains to Bern?', 'Every 30 minutes.'],
      ['shop-app', 'b2'.repeat(16), 'Is the kettle in stock?', 'Yes, 4 left.'],
    ] as const) {
      const res = await s.request('POST', '/v1/traces', { body: chatTrace(service, traceId, q, a) });
      assert.equal(res.status, 200, res.text);
    }
    const agent = await createAgent(s, { name: 'concierge' });
    const chat = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
      body: { message: 'hello concierge', stream: false },
    });
    assert.equal(chat.status, 200, chat.text);
    tab = await signedInTab(browser, s.url, s.adminKey, { width: 1400, height: 900 }, true);
    tab.page.setDefaultTimeout(30_000);
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('lists each run with its app or agent, and filters by app', async () => {
    const { page, errors } = await tab.open('/runs');
    const table = page.getByRole('table');
    const row = (text: string) => table.getByRole('row').filter({ hasText: text });
    await row('Trains to Bern?').getByRole('link', { name: 'app: travel-app' }).waitFor();
    await row('Is the kettle in stock?').getByRole('link', { name: 'app: shop-app' }).waitFor();
    assert.match(await row('hello concierge').innerText(), /concierge/);
    assert.equal(await row('hello concierge').getByRole('link', { name: /^app:/ }).count(), 0);

    await page.getByRole('textbox', { name: 'App' }).fill('travel-app');
    await page.waitForURL(/[?&]service=travel-app/);
    await row('Trains to Bern?').waitFor();
    await page.getByText('1 in all').waitFor();
    assert.equal(await row('Is the kettle in stock?').count(), 0);
    assert.equal(await row('hello concierge').count(), 0);
    assert.deepEqual(await axeSerious(page), []);
    assert.deepEqual(errors, []);
  });

  it("shows the app on the run's page, and its badge leads to the app's runs", async () => {
    const { page, errors } = await tab.open('/runs');
    await page
      .getByRole('row')
      .filter({ hasText: 'Is the kettle in stock?' })
      .getByRole('link', { name: /^[0-9a-f]{8}$/ })
      .click();
    await page.getByRole('heading', { name: /^Run / }).waitFor();
    const facts = page.locator('dl.facts').first();
    await facts.getByRole('link', { name: 'app: shop-app' }).waitFor();
    assert.match(await facts.innerText(), /App\s+app: shop-app ingested from its OpenTelemetry trace/);
    assert.equal(await page.getByRole('link', { name: 'Open in Playground' }).count(), 0);
    assert.deepEqual(await axeSerious(page), []);

    await facts.getByRole('link', { name: 'app: shop-app' }).click();
    await page.waitForURL(/\/runs\?service=shop-app/);
    await page.getByRole('row').filter({ hasText: 'Is the kettle in stock?' }).waitFor();
    assert.equal(await page.getByRole('textbox', { name: 'App' }).inputValue(), 'shop-app');
    await page.getByText('1 in all').waitFor();
    assert.deepEqual(errors, []);
  });
});
