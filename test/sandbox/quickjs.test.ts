import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QuickJsBackend } from '../../src/tools/sandbox/quickjs.ts';
import type { ExecuteRequest, SandboxLimits } from '../../src/tools/sandbox/types.ts';
import { MiB } from './host.ts';

const limits: SandboxLimits = {
  timeout_ms: 1_000,
  cpu_seconds: 10,
  cpu_quota: 1,
  memory_bytes: 16 * MiB,
  max_processes: 1,
  max_open_files: 1,
  workspace_bytes: MiB,
  max_output_bytes: 4096,
};

describe('quickjs backend', () => {
  const backend = new QuickJsBackend(limits);
  // For a program that must stop at another limit than time: on a loaded machine its second of
  // run time can end before it reaches, say, the memory limit.
  const patient = new QuickJsBackend({ ...limits, timeout_ms: 120_000 });
  const run = async (
    code: string,
    extra: Omit<ExecuteRequest, 'code'> = {},
    on: QuickJsBackend = backend,
  ) => {
    const sandbox = await on.acquire();
    try {
      return await on.execute(sandbox, { code, ...extra });
    } finally {
      await on.release(sandbox);
    }
  };

  it('returns the last expression, console output and sees the input handed in', async () => {
    const r = await run('console.log("sum", input.a + input.b); ({ product: input.a * input.b })', {
      input: { a: 6, b: 7 },
    });
    assert.equal(r.exit_code, 0);
    assert.deepEqual(r.value, { product: 42 });
    assert.equal(r.stdout, 'sum 13\n');
  });

  it('settles a returned promise', async () => {
    const r = await run('(async () => { await null; return [1, 2, 3].map((x) => x * 2); })()');
    assert.deepEqual(r.value, [2, 4, 6]);
  });

  it('reports a thrown error on stderr with exit code 1', async () => {
    const r = await run('throw new RangeError("too far")');
    assert.equal(r.exit_code, 1);
    assert.match(r.stderr, /RangeError: too far/);
  });

  it('has no host objects: no process, require, fetch, timers, imports', async () => {
    const r = await run(
      '[typeof process, typeof require, typeof fetch, typeof setTimeout, typeof WebAssembly, typeof std, typeof os]',
    );
    assert.deepEqual(r.value, Array(7).fill('undefined'));
    const imp = await run('import("os")');
    assert.equal(imp.exit_code, 1);
  });

  it('an infinite loop stops at the deadline', async () => {
    const r = await run('for (;;) {}', { timeout_ms: 200 });
    assert.equal(r.killed, 'timeout');
    assert.equal(r.timed_out, true);
  });

  it('a memory bomb stops at the memory limit and the host is unaffected', async () => {
    const rss = process.memoryUsage().rss;
    const r = await run('const a = []; for (;;) a.push(new Array(100000).fill(1.5));', {}, patient);
    assert.equal(r.exit_code, 1);
    assert.equal(r.killed, 'memory');
    assert.ok(process.memoryUsage().rss - rss < 256 * MiB);
  });

  it('endless console output is cut with a marker', async () => {
    const r = await run('for (;;) console.log("spam spam spam")', {}, patient);
    assert.equal(r.truncated, true);
    assert.equal(r.killed, 'output_limit');
    assert.match(r.stdout, /\[output truncated at 4096 bytes\]$/);
  });

  it('each sandbox starts clean: globals of one are not in the next', async () => {
    await run('globalThis.leak = "from before"; Object.prototype.polluted = 1');
    const r = await run('[typeof leak, typeof ({}).polluted]');
    assert.deepEqual(r.value, ['undefined', 'undefined']);
  });
});
