import { type Browser, chromium, type Page } from 'playwright-core';
import { requireCommand } from './system-deps.ts';

/**
 * The system's Chromium, headless, driven by playwright-core. A browser that cannot start fails the
 * suite (with what to install) rather than skipping it.
 */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: requireCommand('chromium'),
    headless: true,
    // Containers often lack the user namespaces Chromium's own sandbox needs.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

/** What the page printed as errors, CSP violations included: a console test fails on any. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/** Opens the console signed in with `key` (as the key form would leave it: in sessionStorage). */
export async function openSignedIn(page: Page, baseUrl: string, key: string, path = '/'): Promise<void> {
  await page.goto(`${baseUrl}/health/live`);
  // A string, not a function: the tests are type-checked without the DOM library.
  await page.evaluate(`sessionStorage.setItem('agentry.api_key', ${JSON.stringify(key)})`);
  await page.goto(`${baseUrl}${path}`);
}

/**
 * One tab, signed in once, for the tests of a file that need no fresh browser state: `open(path)`
 * loads a page in it and clears the errors collected so far. A browser context and a sign-in per test
 * cost more than many of the tests themselves on a loaded machine.
 */
export async function signedInTab(
  browser: Browser,
  baseUrl: string,
  key: string,
  viewport = { width: 1280, height: 900 },
  /** For tabs that inject axe as a script tag, which the console's CSP refuses. */
  bypassCSP = false,
): Promise<{ page: Page; open: (path: string) => Promise<{ page: Page; errors: string[] }> }> {
  const page = await (await browser.newContext({ viewport, bypassCSP })).newPage();
  const errors = collectPageErrors(page);
  await openSignedIn(page, baseUrl, key, '/');
  return {
    page,
    open: async (path) => {
      // What an earlier test left on the tab (routes it stubbed, dialog answers it expected) goes first.
      await page.unrouteAll({ behavior: 'ignoreErrors' });
      page.removeAllListeners('dialog');
      errors.length = 0;
      await page.goto(`${baseUrl}${path}`);
      return { page, errors };
    },
  };
}
