import { type Browser, type BrowserServer, chromium, type LaunchOptions, type Page } from 'playwright-core';
import { requireCommand, usesCommand } from './system-deps.ts';

/** Where scripts/test.mjs tells its files the run's one browser listens. */
export const browserEndpointEnv = 'AGENTRY_TEST_BROWSER_WS';

/** The system's Chromium the tests drive: its headless shell (system-deps.ts says why). */
const browserCommand = 'chromium-headless-shell';

/** Whether any of `files` drives the browser, so scripts/test.mjs starts one for the run. */
export const usesBrowser = (files: readonly string[]): boolean => usesCommand(browserCommand, files);

/** How the system's Chromium is started: its headless shell, by playwright-core. */
function browserLaunchOptions(): LaunchOptions {
  return {
    executablePath: requireCommand(browserCommand),
    headless: true,
    // Containers often lack the user namespaces Chromium's own sandbox needs.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  };
}

/** The run's one browser, for scripts/test.mjs: its files connect to it at `wsEndpoint()`. */
export function launchRunBrowser(): Promise<BrowserServer> {
  return chromium.launchServer(browserLaunchOptions());
}

/**
 * The system's Chromium. Under scripts/test.mjs every file connects to the run's one browser (a
 * Chromium start is ~1.5 s of CPU; each test still gets contexts of its own, and `close()` ends only
 * this file's connection and contexts); a file run otherwise starts its own. A browser that cannot
 * start fails the suite (with what to install) rather than skipping it.
 */
export async function launchBrowser(): Promise<Browser> {
  const shared = process.env[browserEndpointEnv];
  if (shared) return chromium.connect(shared);
  return chromium.launch(browserLaunchOptions());
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

/**
 * Signs the page's browser context in with `key` as the console's form does: the key is traded for
 * a console session whose cookie every tab of the context then sends.
 */
export async function signInContext(page: Page, baseUrl: string, key: string): Promise<void> {
  await page.goto(`${baseUrl}/health/live`);
  // A string, not a function: the tests are type-checked without the DOM library.
  const status = await page.evaluate(
    `fetch('/v1/auth/sign-in', { method: 'POST', headers: { 'content-type': 'application/json' },
       body: JSON.stringify({ api_key: ${JSON.stringify(key)} }) }).then((r) => r.status)`,
  );
  if (status !== 201) throw new Error(`sign-in with the key answered ${status}`);
}

/** Opens the console signed in with `key` (see signInContext). */
export async function openSignedIn(page: Page, baseUrl: string, key: string, path = '/'): Promise<void> {
  await signInContext(page, baseUrl, key);
  await page.goto(`${baseUrl}${path}`);
}

/**
 * A fresh browser context per test, signed in, on `path` once the shell is up; the errors the page
 * logs from then on (the favicon of the sign-in's first stop left out).
 */
export async function openFresh(
  browser: Browser,
  baseUrl: string,
  key: string,
  path: string,
): Promise<{ page: Page; errors: string[] }> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  // Every wait is for something the page shows; its limit only says when to give up. 30 s, not less:
  // a console page on a loaded 2-core machine can take seconds to draw.
  page.setDefaultTimeout(30_000);
  const errors = collectPageErrors(page);
  await openSignedIn(page, baseUrl, key, path);
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
  errors.length = 0;
  return { page, errors };
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
