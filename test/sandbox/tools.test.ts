import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ToolContext } from '../../src/tools/types.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { MiB } from './host.ts';

// The tools call into the sandbox service and never touch the store: PGlite is enough.
describe('bash_execute and run_javascript through the registry', () => {
  let server: TestServer;
  const ctx = (signal = new AbortController().signal): ToolContext =>
    ({
      signal,
      tenantId: 't',
      sessionId: 's',
      runId: 'r',
      idempotencyKey: 'run:r:0.0',
      // The sandboxed tools never use the session's file workspace.
      workspace: undefined,
    }) as unknown as ToolContext;

  before(async () => {
    server = await startServer('pglite', {
      sandbox: {
        limits: { timeout_ms: 2_000, memory_bytes: 64 * MiB, max_output_bytes: 2048 },
        pools: { bwrap: { size: 1 }, quickjs: { size: 1 } },
      },
    });
  });
  after(() => server.close());

  it('bash_execute runs in a sandbox and returns exit code and streams', async () => {
    const out = await server.app.services.tools.execute(
      'bash_execute',
      JSON.stringify({ command: 'cat; echo "uid=$(id -u)"; exit 3', stdin: 'piped\n' }),
      ctx(),
    );
    assert.deepEqual(out, { ok: true, output: { exit_code: 3, stdout: 'piped\nuid=65534\n', stderr: '' } });
    assert.equal(server.app.services.tools.get('bash_execute')?.requires_approval, true);
  });

  it('bash_execute reports the time limit and cut output to the model', async () => {
    const slow = await server.app.services.tools.execute('bash_execute', '{"command":"sleep 10"}', ctx());
    assert.equal(slow.ok, true);
    const output = (slow as { output: Record<string, unknown> }).output;
    assert.equal(output.exit_code, null);
    assert.equal(output.killed, 'stopped after the 2000 ms time limit');
    const loud = await server.app.services.tools.execute('bash_execute', '{"command":"yes"}', ctx());
    const loudOut = (loud as { output: Record<string, unknown> }).output;
    assert.equal(loudOut.truncated, true);
    assert.match(String(loudOut.stdout), /\[output truncated at 2048 bytes\]$/);
  });

  it('run_javascript returns the value and console output', async () => {
    const out = await server.app.services.tools.execute(
      'run_javascript',
      JSON.stringify({ code: 'console.log("hi"); input.n ** 2', input: { n: 12 } }),
      ctx(),
    );
    assert.deepEqual(out, { ok: true, output: { exit_code: 0, stdout: 'hi\n', stderr: '', value: 144 } });
  });

  it('invalid arguments are refused before any sandbox is used', async () => {
    const created = server.app.services.sandboxes.stats('bwrap').created;
    const out = await server.app.services.tools.execute('bash_execute', '{"cmd":"ls"}', ctx());
    assert.equal(out.ok, false);
    assert.match((out as { error: string }).error, /invalid arguments/);
    assert.equal(server.app.services.sandboxes.stats('bwrap').created, created);
  });
});
