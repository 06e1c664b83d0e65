import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { lockDataDir, lockFileOf } from '../../src/db/data-dir-lock.ts';
import { AppError } from '../../src/errors.ts';
import { tempDir } from '../cli/run-cli.ts';

/** The holder a lock file names, as another process would have written it. */
const holder = (pid: number, started?: string, host = hostname()) =>
  JSON.stringify({ pid, started, host, command: 'serve', since: '2026-01-01T00:00:00.000Z' });

describe('the lock of a PGlite data directory', () => {
  const tmp = tempDir('agentry-dirlock-');
  after(() => tmp.remove());
  let n = 0;
  const dir = () => path.join(tmp.dir, `data-${n++}`);

  it('is taken, refused to a second opener (this very process included), and freed on release', () => {
    const d = dir();
    const release = lockDataDir(d);
    assert.equal(JSON.parse(readFileSync(lockFileOf(d), 'utf8')).pid, process.pid);
    assert.throws(
      () => lockDataDir(d),
      (err: unknown) =>
        err instanceof AppError && err.code === 'conflict' && /in use by process/.test(err.message),
    );
    release();
    assert.equal(existsSync(lockFileOf(d)), false);
    lockDataDir(d)();
  });

  it('takes over the lock of a process that is gone, of a reused pid, and a half-written one', () => {
    const mine = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[19];
    for (const stale of [
      holder(2 ** 22 + 1), // above Linux's pid_max: no such process
      holder(process.pid, `${Number(mine) + 1}`), // a live pid, but not the process that wrote it
      '{"pid": 12',
    ]) {
      const d = dir();
      writeFileSync(lockFileOf(d), stale);
      const release = lockDataDir(d);
      assert.equal(JSON.parse(readFileSync(lockFileOf(d), 'utf8')).pid, process.pid, stale);
      release();
    }
  });

  it('refuses a live holder, and one on another host that cannot be checked', () => {
    for (const [held, why] of [
      [holder(process.ppid), `process ${process.ppid}`],
      [holder(2 ** 22 + 1, undefined, 'elsewhere'), 'on host elsewhere'],
    ] as const) {
      const d = dir();
      writeFileSync(lockFileOf(d), held);
      assert.throws(() => lockDataDir(d), new RegExp(`in use by process .*${why}|${why}`));
      assert.equal(readFileSync(lockFileOf(d), 'utf8'), held, 'the holder keeps its lock');
    }
  });
});
