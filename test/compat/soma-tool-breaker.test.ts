/**
 * SomaAgent01's tool-executor knobs (somaagent01.md): "Tune breaker sensitivity by setting
 * `TOOL_EXECUTOR_CIRCUIT_FAILURE_THRESHOLD` (default `5`) and
 * `TOOL_EXECUTOR_CIRCUIT_RESET_TIMEOUT_SECONDS` (default `30`) before restarting the service."
 * Read as an operator sets them, on a real server whose tool breaker then opens and recovers by them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/config.ts';
import { SandboxRefusal } from '../../src/tools/sandbox/types.ts';
import { eventually } from '../helpers/eventually.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

describe('TOOL_EXECUTOR_CIRCUIT_* configure the per-tool breaker', () => {
  let s: TestServer;
  let dir = '';
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'agentry-soma-knobs-'));
    const file = path.join(dir, 'agentry.yaml');
    writeFileSync(file, '');
    const { sandbox } = loadConfig({
      file,
      env: { TOOL_EXECUTOR_CIRCUIT_FAILURE_THRESHOLD: '1', TOOL_EXECUTOR_CIRCUIT_RESET_TIMEOUT_SECONDS: '3' },
    });
    s = await startServer('pglite', {
      sandbox: {
        ...sandbox,
        pools: { bwrap: { size: 1, max_total: 1, acquire_timeout_ms: 200 }, quickjs: { size: 0 } },
      },
    });
  });
  after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens after the set number of failures and lets a call through after the set seconds', async () => {
    const sandboxes = s.app.services.sandboxes;
    // Busy for longer than the refusals below take on a loaded machine (one wait of 200 ms).
    const busy = sandboxes.run('bash_execute', 'bwrap', { code: 'sleep 5; echo done' });
    await eventually(
      async () => sandboxes.stats('bwrap').busy === 1 || undefined,
      20_000,
      'the only sandbox busy',
    );
    // One failure (no sandbox free in time) is the threshold: the next call is refused at once.
    await assert.rejects(sandboxes.run('bash_execute', 'bwrap', { code: 'true' }), /could not get a sandbox/);
    await assert.rejects(sandboxes.run('bash_execute', 'bwrap', { code: 'true' }), (err: Error) => {
      assert.ok(err instanceof SandboxRefusal);
      assert.match(err.message, /bash_execute is temporarily disabled .* try again in [1-3] s/);
      return true;
    });
    const metrics = await s.request('GET', '/metrics');
    assert.match(metrics.text, /agentry_tool_breaker_state\{tool="bash_execute"\} 2/);
    assert.equal((await busy).stdout, 'done\n');
    // Open for 3 s: long enough for the metrics read above on a loaded machine (1 s was not).
    await sleep(3_100);
    const probe = await sandboxes.run('bash_execute', 'bwrap', { code: 'echo back' });
    assert.equal(probe.stdout, 'back\n');
    const health = await s.request('GET', '/health');
    assert.equal(health.body.components.sandbox.detail.breakers.bash_execute, 'closed');
  });
});
