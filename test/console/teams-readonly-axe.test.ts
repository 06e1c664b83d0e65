import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import axe from 'axe-core';
import type { Browser, Page } from 'playwright-core';
import { collectPageErrors, launchBrowser, openSignedIn } from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/** axe-core's own source, to run inside the page. */
const axeSource = axe.source;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core's serious and critical findings on the page as it is now. */
async function axeFindings(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axeSource });
  // A string, not a function: the tests are type-checked without the DOM library.
  const violations = (await page.evaluate('axe.run(document).then((r) => r.violations)')) as AxeViolation[];
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

describe('web console: teams, a read-only key, accessibility', () => {
  let s: TestServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  const ids: Record<string, string> = {};
  const dir = mkdtempSync(path.join(tmpdir(), 'agentry-console-'));
  before(async () => {
    // A daily token budget, for the overview's spend against it.
    writeFileSync(path.join(dir, 'tenants.yaml'), 'defaults:\n  budgets:\n    tokens_per_day: 1000000\n');
    [s, browser] = await Promise.all([
      startServer('pglite', { tenants_file: path.join(dir, 'tenants.yaml') }),
      launchBrowser(),
    ]);
    for (const name of ['planner', 'writer']) {
      const a = await s.request('POST', '/v1/agents', {
        body: { name, model: `mock/${name}`, tools: ['calculator'] },
      });
      ids[name] = a.body.id;
    }
    page = await browser.newPage();
    page.setDefaultTimeout(30_000);
    errors = collectPageErrors(page);
  });
  after(async () => {
    await browser?.close();
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds a DAG team as a graph, saves it, runs it and shows each node finish', async () => {
    await openSignedIn(page, s.url, s.adminKey, '/teams');
    await page.getByRole('heading', { name: 'No teams yet' }).waitFor();
    // openSignedIn stops at /health/live first, whose missing favicon the browser reports.
    errors.length = 0;
    await page.getByRole('button', { name: 'New team' }).click();
    await page.getByLabel('Name').fill('pipeline');
    await page.getByLabel('Kind').selectOption('dag');
    await page.getByRole('checkbox', { name: 'planner' }).check();
    await page.getByRole('checkbox', { name: 'writer' }).check();
    await page.getByRole('button', { name: 'Create team' }).click();
    await page.getByRole('heading', { name: /pipeline/ }).waitFor();
    await page.locator('.react-flow__node', { hasText: 'planner' }).waitFor();

    await page.getByLabel('From').selectOption({ label: 'planner' });
    await page.getByLabel('to', { exact: true }).selectOption({ label: 'writer' });
    await page.getByRole('button', { name: 'Add edge' }).click();
    // An SVG group has no box of its own for Playwright: the edge is checked drawn by its path.
    await page
      .getByRole('group', { name: 'planner to writer' })
      .locator('path')
      .first()
      .waitFor({ state: 'attached' });
    await page.getByRole('button', { name: 'Save the graph' }).click();
    await page.getByRole('button', { name: 'Saved' }).waitFor();
    const teams = await s.request('GET', '/v1/multi-agents');
    const team = teams.body.data[0];
    assert.deepEqual(team.edges, [{ from: ids.planner, to: ids.writer }]);
    assert.equal(team.entry_agent_id, ids.planner);

    await page.getByLabel('Message').fill('write a haiku about queues');
    await page.getByRole('button', { name: 'Run' }).click();
    const events = page.getByRole('list', { name: 'Run events' });
    await events.getByText('run completed').waitFor();
    const lines = await events.getByRole('listitem').allInnerTexts();
    assert.deepEqual(lines, [
      'planner started',
      'planner completed',
      'writer started',
      'writer completed',
      'run completed',
    ]);
    await page.locator('.react-flow__node', { hasText: 'writer' }).getByText('completed').waitFor();
    await page
      .locator('.react-flow__node', { hasText: 'planner' })
      .getByText(/entry · completed/)
      .waitFor();
    assert.deepEqual(errors, []);
  });

  it("edits a swarm's handoffs on its graph: saved on the member agents", async () => {
    const swarm = await s.request('POST', '/v1/multi-agents', {
      body: { name: 'crew', kind: 'swarm', members: [ids.writer, ids.planner] },
    });
    await page.goto(`${s.url}/teams?team=${swarm.body.id}`);
    await page.getByRole('heading', { name: /crew/ }).waitFor();
    await page.getByText('No handoffs yet').waitFor();
    await page.getByLabel('From').selectOption({ label: 'writer' });
    await page.getByLabel('to', { exact: true }).selectOption({ label: 'planner' });
    await page.getByRole('button', { name: 'Add handoff' }).click();
    await page.getByRole('button', { name: 'Make planner the entry' }).click();
    await page.getByRole('button', { name: 'Save the graph' }).click();
    await page.getByRole('button', { name: 'Saved' }).waitFor();
    const writer = await s.request('GET', `/v1/agents/${ids.writer}`);
    assert.deepEqual(writer.body.handoffs, ['planner']);
    const saved = await s.request('GET', `/v1/multi-agents/${swarm.body.id}`);
    assert.equal(saved.body.entry_agent_id, ids.planner);
    await page.getByRole('listitem').filter({ hasText: 'writer → planner' }).waitFor();
  });

  it('shows a read-only key no write control on these pages, and the API refuses its writes', async () => {
    const read = await s.request('POST', '/v1/keys', { body: { name: 'viewer', scopes: ['read'] } });
    const key = read.body.secret as string;
    const viewer = await browser.newPage();
    viewer.setDefaultTimeout(30_000);
    const writeWords =
      /^(New agent|From a template|Describe it|Local-dev agent|Save|Save changes|Delete|Send|Approve|Deny|New team|Run|Save the graph|Delete team|Add|Add edge|Add a task type)$/;
    const pages: Array<[string, string]> = [
      ['/', 'Overview'],
      ['/agents', 'Agents'],
      [`/agents/${ids.planner}`, 'planner'],
      [`/playground?agent=${ids.planner}`, 'Playground'],
      ['/teams', 'Teams'],
    ];
    const team = (await s.request('GET', '/v1/multi-agents')).body.data.find(
      (t: { kind: string }) => t.kind === 'dag',
    );
    pages.push([`/teams?team=${team.id}`, 'Teams']);
    for (const [path, heading] of pages) {
      await openSignedIn(viewer, s.url, key, path);
      await viewer.getByRole('heading', { name: heading, exact: true }).waitFor();
      await viewer
        .getByText('Loading')
        .first()
        .waitFor({ state: 'hidden' })
        .catch(() => {});
      if (path.startsWith('/agents/')) await viewer.getByLabel('Instructions (system prompt)').waitFor();
      if (path.startsWith('/teams?')) await viewer.locator('.react-flow__node').first().waitFor();
      if (path.startsWith('/playground')) await viewer.getByText('This key can read conversations').waitFor();
      const buttons = await viewer.getByRole('button').allInnerTexts();
      const links = await viewer.getByRole('main').getByRole('link').allInnerTexts();
      const offending = [...buttons, ...links].map((b) => b.trim()).filter((b) => writeWords.test(b));
      assert.deepEqual(offending, [], `write controls on ${path}`);
      assert.equal(await viewer.getByRole('textbox', { name: /Message/ }).count(), 0, path);
    }
    const refused = await s.request('PATCH', `/v1/agents/${ids.planner}`, {
      key,
      body: { description: 'x' },
    });
    assert.equal(refused.status, 403);
    await viewer.close();
  });

  it('axe finds no serious or critical violation on the overview, agents, playground and teams pages, which fit 390 px', async () => {
    // axe's source goes in as a script tag, which the console's CSP (rightly) refuses: this context waives it.
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await openSignedIn(page, s.url, s.adminKey, `/playground?agent=${ids.planner}`);
    await page.getByLabel('Message to planner').fill('use the calculator tool 2 + 3');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('article', { name: 'Tool call calculator' }).waitFor();
    await page.getByText(/The calculator tool returned/).waitFor();
    const findings: Record<string, string[]> = { playground: await axeFindings(page) };
    const team = (await s.request('GET', '/v1/multi-agents')).body.data.find(
      (t: { kind: string }) => t.kind === 'dag',
    );
    const visits: Array<[string, string, () => Promise<unknown>]> = [
      [
        '/',
        'overview',
        async () => {
          await page.getByText('System: green').waitFor();
          // The chats and the team run above: counted this hour, and spent against the budget.
          await page
            .getByRole('table', { name: 'Runs by outcome' })
            .getByRole('row', { name: /completed [1-9]/ })
            .waitFor();
          await page.getByText(/of 1,000,000 a day \(0\.\d+ %\)/).waitFor();
          await page.getByRole('meter', { name: 'Tokens against the daily budget' }).waitFor();
        },
      ],
      ['/agents', 'agent list', () => page.getByRole('link', { name: 'planner' }).waitFor()],
      [
        '/agents/new?from=template',
        'templates',
        () => page.getByRole('button', { name: /^Use / }).first().waitFor(),
      ],
      ['/agents/new', 'new agent form', () => page.getByLabel('Instructions (system prompt)').waitFor()],
      [
        `/agents/${ids.writer}`,
        'agent editor',
        () => page.getByLabel('Instructions (system prompt)').waitFor(),
      ],
      ['/agents/generate', 'generate', () => page.getByLabel('What should it do?').waitFor()],
      [
        '/agents/local-dev',
        'local-dev',
        () => page.getByRole('heading', { name: 'New local-dev agent' }).waitFor(),
      ],
      [`/teams?team=${team.id}`, 'team graph', () => page.locator('.react-flow__node').first().waitFor()],
    ];
    const overflow: string[] = [];
    for (const [path, name, ready] of visits) {
      await page.setViewportSize({ width: 1280, height: 800 });
      await openSignedIn(page, s.url, s.adminKey, path);
      await ready();
      findings[name] = await axeFindings(page);
      // The same page in the dark scheme (colours follow the system setting).
      await page.emulateMedia({ colorScheme: 'dark' });
      findings[`${name} (dark)`] = await axeFindings(page);
      await page.emulateMedia({ colorScheme: 'light' });
      // Usable on a 390 px phone: nothing wider than the screen.
      await page.setViewportSize({ width: 390, height: 800 });
      const width = (await page.evaluate('document.documentElement.scrollWidth')) as number;
      if (width > 390) overflow.push(`${name}: ${width} px`);
    }
    assert.deepEqual(overflow, []);
    await context.close();
    for (const [name, list] of Object.entries(findings)) assert.deepEqual(list, [], name);
  });
});
