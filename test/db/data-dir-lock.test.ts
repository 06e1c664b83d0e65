import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { lockDataDir, lockFileOf } from '../../src/db/data-dir-lock.ts';
import { AppError } from '../../src/errors.ts';
import { tempDir } from '../cli/run-cli.ts';
import { spawnUnreaped } from '../helpers/unreaped.ts';

/** The holder a lock file names, as another process would have written it. */
const holder = (pid: number, started?: string, host = hostname(), lock?: 'kernel') =>
  JSON.stringify({ pid, started, host, command: 'serve', since: '2026-01-01T00:00:00.000Z', lock });

const startedOf = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19];

const refusal = (why: RegExp) => (err: unknown) =>
  err instanceof AppError && err.code === 'conflict' && why.test(err.message);

// The kernel's lock (flock) where the system has one, and the pid check alone as where it has none.
for (const kernel of [true, false]) {
  describe(`the lock of a PGlite data directory (${kernel ? 'flock' : 'pid check'})`, () => {
    const tmp = tempDir('agentry-dirlock-');
    // A zombie: a process that was killed and whose parent has not reaped it, its pid still alive.
    let zombie: Awaited<ReturnType<typeof spawnUnreaped>> | undefined;
    after(() => {
      zombie?.stop();
      tmp.remove();
    });
    let n = 0;
    const dir = () => path.join(tmp.dir, `data-${n++}`);
    const lock = (d: string) => lockDataDir(d, { kernel });

    it('is taken, refused to a second opener (this very process included), and freed on release', () => {
      const d = dir();
      const release = lock(d);
      const held = JSON.parse(readFileSync(lockFileOf(d), 'utf8'));
      assert.equal(held.pid, process.pid);
      assert.equal(held.lock, kernel ? 'kernel' : undefined);
      assert.throws(() => lock(d), refusal(/in use by process \d+ \("agentry/));
      // What the refusal tells to do: the kernel's lock needs no removing; a pid's is stale once it is gone.
      assert.throws(
        () => lock(d),
        refusal(
          kernel
            ? /never needs removing; see the holder with `ps -p \d+ -o pid,stat,lstart,args` or `fuser -v /
            : /Check the holder with `ps -p \d+ .*only if no such process runs .*removing \S+\.lock safe/,
        ),
      );
      release();
      release();
      assert.equal(existsSync(lockFileOf(d)), false);
      lock(d)();
    });

    it('takes over the lock of a process that is gone, a zombie, a reused pid, and a half-written one', async () => {
      zombie = await spawnUnreaped('sleep', ['3600']);
      const zombieStarted = startedOf(zombie.pid);
      await zombie.kill();
      for (const stale of [
        holder(2 ** 22 + 1), // above Linux's pid_max: no such process
        holder(zombie.pid, zombieStarted), // killed, its parent never reaps it
        holder(process.pid, `${Number(startedOf(process.pid)) + 1}`), // a live pid, not the writer
        holder(2 ** 22 + 1, undefined, 'elsewhere', 'kernel'), // nobody holds its flock
        '{"pid": 12',
      ]) {
        if (!kernel && stale.includes('"kernel"')) continue; // without flock, another host is never checked
        const d = dir();
        writeFileSync(lockFileOf(d), stale);
        const release = lock(d);
        assert.equal(JSON.parse(readFileSync(lockFileOf(d), 'utf8')).pid, process.pid, stale);
        release();
      }
    });

    // Only the kernel's lock can outlast the holder the file names.
    if (kernel)
      it('waits for the kernel to free the lock of a holder that has ended', async () => {
        const d = dir();
        const file = lockFileOf(d);
        writeFileSync(file, holder(2 ** 22 + 1, undefined, hostname(), 'kernel'));
        // Another open file keeps the flock a moment longer, as a killed process's last thread can.
        const keeper = spawn('flock', ['-x', file, 'sleep', '0.5'], { stdio: 'ignore' });
        const exited = once(keeper, 'exit');
        // Until the keeper holds it (at most 3 s).
        for (let i = 0; i < 300 && spawnSync('flock', ['-n', file, 'true']).status === 0; i++)
          await new Promise((r) => setTimeout(r, 10));
        const release = lock(d);
        assert.equal(JSON.parse(readFileSync(file, 'utf8')).pid, process.pid);
        release();
        await exited;
      });

    it('refuses a live holder, and one on another host that cannot be checked', () => {
      for (const [held, why] of [
        [holder(process.ppid), `process ${process.ppid} \\("agentry serve`],
        [holder(2 ** 22 + 1, undefined, 'elsewhere'), 'on host elsewhere'],
      ] as const) {
        const d = dir();
        writeFileSync(lockFileOf(d), held);
        assert.throws(() => lock(d), refusal(new RegExp(`in use by .*${why}.*only if no such process runs`)));
        assert.equal(readFileSync(lockFileOf(d), 'utf8'), held, 'the holder keeps its lock');
      }
    });
  });
}
