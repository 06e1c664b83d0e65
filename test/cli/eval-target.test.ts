import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { runCli, tempDir } from './run-cli.ts';

/** `agentry eval run --target ./app.mjs`: the caller's own function, run by the CLI, scored by the server. */

const app = `
export default async function answer(input) {
  if (input.message === 'damson') throw new TypeError('no damsons today');
  return input.message.toUpperCase();
}
`;

for (const store of stores) {
  describe(`agentry eval run --target on ${store}`, () => {
    let s: TestServer;
    const tmp = tempDir();
    const cli = (...args: string[]) =>
      runCli(['eval', 'run', ...args, '--poll-ms', '50', '--url', s.url, '--api-key', s.adminKey], {
        cwd: tmp.dir,
      });
    before(async () => {
      s = await startServer(store);
      writeFileSync(path.join(tmp.dir, 'app.mjs'), app);
      writeFileSync(path.join(tmp.dir, 'not-a-function.mjs'), 'export default 42;\n');
      const items = ['apple', 'banana', 'cherry', 'damson'].map((w) => ({
        input: { message: w },
        expected: w.toUpperCase(),
      }));
      assert.equal((await s.request('POST', '/v1/datasets', { body: { name: 'fruit', items } })).status, 201);
    });
    after(async () => {
      await s.close();
      tmp.remove();
    });

    it('runs the module on each item, shows progress and the summary, writes JUnit, and passes over the bar', async () => {
      const junit = path.join(tmp.dir, 'target.xml');
      const r = await cli(
        '--dataset',
        'fruit',
        '--target',
        './app.mjs',
        '--evaluator',
        'exact_match',
        '--concurrency',
        '2',
        '--fail-under',
        '0.7',
        '--junit',
        junit,
      );
      assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
      assert.match(r.stderr, /^4\/4 items \(1 errors\) completed$/m);
      // Three right, one thrown (scores 0): 3 / 4.
      assert.match(r.stdout, /^score: 0\.75 /m);
      assert.match(r.stdout, /^experiment [0-9a-f-]+ \(function on fruit\): completed$/m);
      const xml = readFileSync(junit, 'utf8');
      assert.match(xml, /<testsuite name="function on fruit" tests="4" failures="0" errors="1"/);
      assert.match(xml, /<error message="TypeError: no damsons today"\/>/);
    });

    it('exits 1 under --fail-under', async () => {
      const r = await cli(
        '--dataset',
        'fruit',
        '--target',
        './app.mjs',
        '--evaluator',
        'exact_match',
        '--fail-under',
        '0.9',
      );
      assert.equal(r.code, 1, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
      assert.match(r.stderr, /score 0\.75 is under --fail-under 0\.9/);
    });

    it('exits 2, creating nothing, for a module without a function or a second subject', async () => {
      const before = (await s.request('GET', '/v1/experiments')).body.total;
      const notFn = await cli(
        '--dataset',
        'fruit',
        '--target',
        './not-a-function.mjs',
        '--evaluator',
        'exact_match',
      );
      assert.equal(notFn.code, 2, notFn.stderr);
      assert.match(notFn.stderr, /default export must be a function/);
      const missing = await cli(
        '--dataset',
        'fruit',
        '--target',
        './nowhere.mjs',
        '--evaluator',
        'exact_match',
      );
      assert.equal(missing.code, 2, missing.stderr);
      assert.match(missing.stderr, /could not load it/);
      const both = await cli(
        '--dataset',
        'fruit',
        '--target',
        './app.mjs',
        '--agent',
        'echo',
        '--evaluator',
        'exact_match',
      );
      assert.equal(both.code, 2, both.stderr);
      assert.match(both.stderr, /give one of --agent, --team or --target/);
      assert.equal((await s.request('GET', '/v1/experiments')).body.total, before);
    });
  });
}
