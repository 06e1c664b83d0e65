import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { lockFileOf } from '../../src/db/data-dir-lock.ts';
import { eventually } from '../helpers/eventually.ts';
import { processState, spawnUnreaped, type Unreaped } from '../helpers/unreaped.ts';
import { agentryArgv, cleanEnv, runCli, type Spawned, startServe, tempDir } from './run-cli.ts';

/**
 * The embedded store belongs to one process. While `agentry serve` holds it, every command that
 * would open it stops with an error naming the lock and its holder; the commands that talk to the
 * server go through its API. A holder killed outright leaves a lock that the next start takes over.
 */
describe('the embedded store has one opener', { timeout: 600_000 }, () => {
  const tmp = tempDir('agentry-lock-');
  writeFileSync(path.join(tmp.dir, 'agentry.yaml'), 'server:\n  shutdown_grace_seconds: 90\n');
  const dataDir = path.join(tmp.dir, 'store');
  const lock = lockFileOf(dataDir);
  const running = new Set<Spawned>();
  const unreaped: Unreaped[] = [];
  after(async () => {
    await Promise.all([...running].map((p) => p.stop()));
    for (const u of unreaped) {
      if (processState(u.pid) !== 'Z') process.kill(u.pid, 'SIGKILL');
      u.stop();
    }
    tmp.remove();
  });
  const env = { AGENTRY_DATA_DIR: dataDir };

  /** `agentry serve` under a parent that never reaps it, once it listens; rejects with its output if it stops first. */
  async function serveUnreaped(storeEnv: Record<string, string>): Promise<Unreaped> {
    const args = agentryArgv(['serve', '--port', '0', '--log-level', 'warn']);
    const server = await spawnUnreaped(process.execPath, args, { cwd: tmp.dir, env: cleanEnv(storeEnv) });
    unreaped.push(server);
    await eventually(
      async () => {
        if (/agentry listening on/.test(server.stderr())) return true;
        const state = processState(server.pid);
        if (state === undefined || state === 'Z') throw new Error(`agentry serve ended:\n${server.stderr()}`);
      },
      120_000,
      'agentry serve to listen',
    );
    return server;
  }

  it('refuses every other opener while the server runs, naming the lock; the API commands work', async () => {
    const server = await startServe([], { cwd: tmp.dir, env });
    running.add(server);
    const pid = server.child.pid!;
    assert.equal(JSON.parse(readFileSync(lock, 'utf8')).pid, pid);

    for (const args of [
      ['migrate'],
      ['migrate', '--data-dir', dataDir],
      ['run-once'],
      ['run-loop'],
      ['worker'],
      ['serve', '--port', '0'],
    ]) {
      const r = await runCli(args, { cwd: tmp.dir, env });
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`in use by process ${pid} \\("agentry serve`), args.join(' '));
      assert.ok(r.stderr.includes(`lock ${lock}`), `${args.join(' ')} names the lock: ${r.stderr}`);
    }
    // These go through the server's API (credentials written by its first start, in this directory).
    const status = await runCli(['status', '--json'], { cwd: tmp.dir });
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).counts.pending, 0);

    assert.equal(await server.stop(), 0, server.stderr());
    running.delete(server);
    assert.equal(existsSync(lock), false, 'a graceful stop frees the lock');
  });

  it('a server killed outright leaves a lock the next opener takes over; migrate reads AGENTRY_DATA_DIR', async () => {
    const server = await startServe([], { cwd: tmp.dir, env });
    running.add(server);
    server.child.kill('SIGKILL');
    await server.exited;
    running.delete(server);
    assert.equal(
      JSON.parse(readFileSync(lock, 'utf8')).pid,
      server.child.pid,
      'the dead holder is still named',
    );

    // The store the server migrated, found through the variable alone: nothing left to apply.
    const migrated = await runCli(['migrate'], { cwd: tmp.dir, env });
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.equal(migrated.stdout, 'store is up to date\n');
    assert.equal(existsSync(lock), false);
    assert.equal(existsSync(path.join(tmp.dir, '.agentry', 'data')), false, 'the default dir is untouched');
  });

  it('a server killed outright, its parent never reaping it, is followed by a new start at once, ten times in a row', async () => {
    // As in a container whose first process does not reap: the killed server stays a zombie, its pid
    // alive to kill(pid, 0) and its start time unchanged, but its files (and so its lock) closed.
    const storeEnv = { AGENTRY_DATA_DIR: path.join(tmp.dir, 'crash-store') };
    let server = await serveUnreaped(storeEnv);
    for (let restart = 1; restart <= 10; restart++) {
      await server.kill();
      assert.equal(processState(server.pid), 'Z', 'the killed server is not reaped');
      server = await serveUnreaped(storeEnv);
      assert.equal(JSON.parse(readFileSync(lockFileOf(storeEnv.AGENTRY_DATA_DIR), 'utf8')).pid, server.pid);
    }
    // Two live servers on one store are still refused, the message saying how to see the holder.
    const second = await runCli(['serve', '--port', '0'], { cwd: tmp.dir, env: storeEnv });
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`in use by process ${server.pid} \\("agentry serve`));
    assert.match(second.stderr, /fuser -v /);
  });

  it('refuses the api and worker roles on the embedded store, and a worker with no slots', async () => {
    for (const role of ['api', 'worker']) {
      const r = await runCli(['serve', '--role', role], { cwd: tmp.dir, env });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`role "${role}" needs PostgreSQL \\(DATABASE_URL\\)`));
    }
    const r = await runCli(['serve', '--role', 'worker', '--workers', '0'], {
      cwd: tmp.dir,
      env: { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /role "worker" with tasks.workers 0 has nothing to run/);
    const bad = await runCli(['serve', '--role', 'boss'], { cwd: tmp.dir, env });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /fleet\.role/);
  });
});
