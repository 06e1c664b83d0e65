/**
 * `agentry worker` started while PostgreSQL is down waits for it, as a supervisor that starts the
 * worker first expects: each failed attempt is a warning (no exit), and once a database answers on
 * that address the worker migrates it, starts and claims a task. SIGTERM ends a wait at once, exit 0.
 * The database is a cluster of this test's own on a spare port (test/helpers/pg-cluster.ts), never
 * the shared server.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { type App, createApp } from '../../src/app.ts';
import { testConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { closedPort } from '../helpers/closed-port.ts';
import { eventually } from '../helpers/eventually.ts';
import { type PgCluster, startCluster } from '../helpers/pg-cluster.ts';
import { summarizeType } from '../tasks/helpers.ts';
import { agentryArgv, cleanEnv } from './run-cli.ts';

/** `agentry worker` with its stdout (the JSON log) and stderr kept. */
function startWorker(databaseUrl: string) {
  const child = spawn(process.execPath, agentryArgv(['worker', '--concurrency', '1']), {
    env: cleanEnv({ DATABASE_URL: databaseUrl }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = once(child, 'close').then(([code, signal]) => (code ?? signal) as number | string);
  const log = () =>
    stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const waits = () => log().filter((l) => /store cannot be reached/.test(String(l.msg)));
  return { child, exited, log, waits, stderr: () => stderr };
}

describe('agentry worker started before PostgreSQL', { timeout: 300_000 }, () => {
  const children: ChildProcess[] = [];
  let cluster: PgCluster | undefined;
  let api: App | undefined;
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await api?.close();
    cluster?.remove();
  });

  it('warns and waits while nothing answers, then starts when the database comes up and claims a task', async () => {
    const port = await closedPort();
    const worker = startWorker(`postgres://postgres@127.0.0.1:${port}/postgres`);
    children.push(worker.child);
    const early = await eventually(
      async () => (worker.waits().length >= 2 || worker.child.exitCode !== null ? worker.waits() : undefined),
      60_000,
      'two failed attempts',
    );
    assert.equal(worker.child.exitCode, null, `the worker exited: ${worker.stderr()}`);
    for (const w of early) {
      assert.equal(w.level, 40, JSON.stringify(w));
      assert.equal(w.err, undefined, 'a warning without a stack');
      assert.match(String(w.reason), /cannot reach PostgreSQL at .*ECONNREFUSED/);
    }
    assert.deepEqual(
      early.map((w) => w.attempt),
      [1, 2],
    );

    cluster = await startCluster(port);
    // Its first start of this store creates the tenant and prints the admin key.
    const key = await eventually(
      async () => /admin key \(shown once\): (\S+)/.exec(worker.stderr())?.[1],
      120_000,
      'the worker to start on the database',
    );
    // The start line comes after the key's, in its own write: waited for, not read at once.
    await eventually(
      async () => (/agentry worker: 1 slot\(s\), store postgres/.test(worker.stderr()) ? true : undefined),
      60_000,
      'the worker to say it started',
    );

    // An API process on the same database claims nothing: the task is the worker's to run.
    api = await createApp(
      testConfig({
        log_level: 'silent',
        store: { database_url: cluster.url, pool_max: 2 },
        fleet: { role: 'api' },
        ops_team: { seed: false },
        sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 0 } } },
      }),
      { log: createLogger('silent') },
    );
    const base = await api.http.listen({ host: '127.0.0.1', port: 0 });
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const agent = await call('POST', '/v1/agents', { name: 'waiter', task_types: [summarizeType] });
    assert.equal(agent.status, 201, JSON.stringify(agent.body));
    const task = await call('POST', '/v1/tasks', {
      agent_id: agent.body.id,
      task_type: 'summarize',
      title: 'after the outage',
      payload: { text: 'the database came up' },
    });
    assert.equal(task.status, 202, JSON.stringify(task.body));
    const done = await eventually(
      async () => {
        const t = await call('GET', `/v1/tasks/${task.body.id}`);
        return t.body.status === 'completed' || t.body.status === 'failed' ? t.body : undefined;
      },
      60_000,
      'the worker to run the task',
    );
    assert.equal(done.status, 'completed', JSON.stringify(done));

    worker.child.kill('SIGTERM');
    assert.equal(await worker.exited, 0, worker.stderr());
  });

  it('ends a wait on SIGTERM with exit 0', async () => {
    const worker = startWorker(`postgres://postgres@127.0.0.1:${await closedPort()}/postgres`);
    children.push(worker.child);
    await eventually(
      async () => (worker.waits().length >= 1 || worker.child.exitCode !== null ? true : undefined),
      60_000,
      'a failed attempt',
    );
    assert.equal(worker.child.exitCode, null, `the worker exited: ${worker.stderr()}`);
    worker.child.kill('SIGTERM');
    assert.equal(await worker.exited, 0, worker.stderr());
  });
});
