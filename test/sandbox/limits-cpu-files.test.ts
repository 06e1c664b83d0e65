import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ExecuteResult } from '../../src/tools/sandbox/types.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

// The soft and hard CPU limits are equal: Linux checks the hard one first and sends SIGKILL (9);
// SIGXCPU (24) is what a kernel that checks the soft one first would send.
const SIGKILL = 9;
const SIGXCPU = 24;

// Limits are about the sandbox, not the store: one real server on PGlite is enough.
describe('bwrap sandbox limits: CPU time and open files', () => {
  let server: TestServer;
  const run = (code: string): Promise<ExecuteResult> =>
    server.app.services.sandboxes.run('bash_execute', 'bwrap', { code });

  before(async () => {
    server = await startServer('pglite', {
      sandbox: {
        // A wall-clock limit far beyond the CPU limit: only the CPU limit can stop the busy loop.
        limits: { timeout_ms: 120_000, cpu_seconds: 1, max_open_files: 32 },
        pools: { bwrap: { size: 1 }, quickjs: { size: 0 }, agent: { size: 0 } },
      },
    });
  });
  after(() => server.close());

  it('a busy loop is killed by the CPU-time limit (SIGKILL at the hard limit), long before the wall-clock limit', async () => {
    // The loop runs in a child shell so the sandbox's own shell can report how it ended.
    const r = await run(`ulimit -t; bash -c 'while :; do :; done'; echo "status=$?"`);
    assert.equal(r.killed, undefined, `not stopped by Agentry's timer: ${JSON.stringify(r)}`);
    assert.equal(r.timed_out, false);
    assert.equal(r.exit_code, 0, r.stderr);
    assert.match(r.stdout, /^1\n/, 'the CPU limit inside is the configured 1 second');
    const status = Number(/status=(\d+)\n$/.exec(r.stdout)?.[1]);
    assert.ok([128 + SIGKILL, 128 + SIGXCPU].includes(status), `the loop died of the CPU limit: ${r.stdout}`);
  });

  it('opening more files than max_open_files fails inside the sandbox', async () => {
    // Descriptors 0-2 are taken; bash hands out new ones from 10 up, so the 23rd open reaches 32.
    const r = await run(`ulimit -n
opened=0
for i in $(seq 1 64); do
  exec {fd}</dev/null || { echo "refused after $opened"; break; }
  opened=$((opened + 1))
done
echo "opened=$opened"`);
    assert.equal(r.killed, undefined, JSON.stringify(r));
    assert.equal(r.exit_code, 0, r.stderr);
    assert.match(r.stdout, /^32\n/, 'the open-files limit inside is the configured 32');
    const opened = Number(/opened=(\d+)/.exec(r.stdout)?.[1]);
    assert.ok(opened > 0 && opened < 32, `some files open, and fewer than the limit: ${r.stdout}`);
    assert.match(r.stdout, /refused after \d+/);
    assert.match(r.stderr, /Too many open files/);
  });
});
