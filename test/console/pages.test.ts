import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { pages } from '../../web/src/app/pages.ts';
import { launchBrowser, signedInTab } from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/** The page registry (web/src/app/pages.ts) is what the server serves and what the router draws. */
describe('web console: every registered page', () => {
  let s: TestServer;
  let browser: Browser;
  before(async () => {
    [s, browser] = await Promise.all([startServer('pglite'), launchBrowser()]);
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('is served at its path and below it, and nothing else outside the API is', async () => {
    for (const { path } of pages) {
      for (const url of path === '/' ? ['/'] : [path, `${path}/some/deeper/view`]) {
        const res = await fetch(`${s.url}${url}`);
        assert.equal(res.status, 200, url);
        assert.match(res.headers.get('content-type') ?? '', /text\/html/, url);
      }
    }
    // Another path is a 404: the console's not-found page for a browser's page load, JSON for the API.
    const stray = await s.request('GET', '/not-a-page', { headers: { accept: 'text/html' } });
    assert.equal(stray.status, 404);
    assert.match(stray.headers.get('content-type') ?? '', /text\/html/);
    const asApi = await s.request('GET', '/not-a-page');
    assert.equal(asApi.status, 404);
    assert.equal(asApi.body.error.code, 'not_found');
  });

  it('sends its assets precompressed, brotli or gzip as accepted, with Vary: Accept-Encoding', async () => {
    const html = await (await fetch(`${s.url}/`)).text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(asset);
    // Raw bytes, as they travel: node:http does not decode them.
    const get = (encoding: string) =>
      new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
        request(`${s.url}${asset}`, { headers: { 'accept-encoding': encoding } }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (b: Buffer) => parts.push(b));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(parts) }));
        })
          .on('error', reject)
          .end();
      });
    const plain = await get('identity');
    assert.equal(plain.headers['content-encoding'], undefined);
    const br = await get('gzip, deflate, br');
    assert.equal(br.headers['content-encoding'], 'br');
    assert.match(String(br.headers.vary), /accept-encoding/i);
    assert.match(String(br.headers['content-type']), /javascript/);
    assert.deepEqual(brotliDecompressSync(br.body), plain.body);
    assert.ok(br.body.length < plain.body.length / 3, `${br.body.length} of ${plain.body.length} bytes`);
    const gz = await get('gzip');
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(gunzipSync(gz.body), plain.body);
    assert.match(String(plain.headers.vary), /accept-encoding/i, 'the plain answer varies too');
  });

  it('loads by URL with its heading and its entry in the navigation, without errors', async () => {
    const tab = await signedInTab(browser, s.url, s.adminKey);
    tab.page.setDefaultTimeout(30_000);
    for (const { path, label } of pages) {
      const { page, errors } = await tab.open(path);
      await page.getByRole('heading', { level: 1, name: label, exact: true }).waitFor();
      const link = page
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: label, exact: true });
      assert.equal(await link.getAttribute('aria-current'), 'page', `${path} is the current entry`);
      assert.equal(await page.getByText('Something went wrong').count(), 0, path);
      assert.deepEqual(errors, [], path);
    }
  });
});
