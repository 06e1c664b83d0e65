import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
// @ts-expect-error: a plain .mjs script of the test runner, without declarations.
import { mayShare, testProcesses } from '../../scripts/test-batches.mjs';

const dir = mkdtempSync(path.join(tmpdir(), 'agentry-batches-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
};

describe('test files that share a process (scripts/test-batches.mjs)', () => {
  it('keeps a file that writes the environment, the working directory or a global in a process of its own', () => {
    assert.equal(mayShare(write('plain.test.ts', "it('x', () => { assert.ok(process.env.HOME); });")), true);
    for (const text of [
      "process.env.OPENAI_API_KEY = 'sk';",
      "process.env['X'] = '1';",
      'delete process.env.X;',
      "process.chdir('/');",
      'globalThis.fetch = fake;',
      "const exporter = { OTEL_TRACES_EXPORTER: 'otlp' };",
      'const heap = process.memoryUsage().heapUsed;',
    ])
      assert.equal(mayShare(write('own.test.ts', text)), false, text);
  });

  it('deals the shared files round-robin into entries of at most `size`, the others alone', () => {
    const sources = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => `test/${n}.test.ts`);
    const compiled = sources.map((s) => path.join(dir, s.replace('.ts', '.js')));
    const run = testProcesses({
      sources,
      compiled,
      isShared: (s: string) => s !== 'test/c.test.ts',
      dir,
      size: 2,
    });
    assert.equal(run.length, 4);
    assert.deepEqual(run.at(-1), compiled[2]);
    const members = (entry: string) =>
      [...readFileSync(entry, 'utf8').matchAll(/describe\("([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(run.slice(0, 3).map(members), [
      ['test/a.test.js', 'test/e.test.js'],
      ['test/b.test.js', 'test/f.test.js'],
      ['test/d.test.js'],
    ]);
    assert.deepEqual(testProcesses({ sources, compiled, isShared: () => true, dir, size: 1 }), compiled);
  });

  it('runs each file as a suite of its own: its top-level hooks apply to its tests alone, and helpers see which file runs', () => {
    const first = write(
      'first.test.mjs',
      `import assert from 'node:assert/strict';
import { before, it } from 'node:test';
let ready = false;
before(() => { ready = true; globalThis.firstHookRan = (globalThis.firstHookRan ?? 0) + 1; });
it('sees its own hook', () => assert.equal(ready, true));
it('runs as itself', () => assert.equal(globalThis[Symbol.for('agentry.test.file')], 'first.test.mjs'));
`,
    );
    const second = write(
      'second.test.mjs',
      `import assert from 'node:assert/strict';
import { it } from 'node:test';
it('ran after the first file, whose hook ran once', () => assert.equal(globalThis.firstHookRan, 1));
it('runs as itself', () => assert.equal(globalThis[Symbol.for('agentry.test.file')], 'second.test.mjs'));
`,
    );
    const [entry] = testProcesses({
      sources: ['first', 'second'],
      compiled: [first, second],
      isShared: () => true,
      dir,
      size: 8,
    });
    // Without this run's NODE_TEST_CONTEXT, which would make the child report to a parent runner.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', entry], {
      encoding: 'utf8',
      env,
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /▶ first\.test\.mjs[\s\S]*▶ second\.test\.mjs/);
    assert.match(r.stdout, /ℹ tests 4\b/);
  });
});
