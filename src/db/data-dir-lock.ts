import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { AppError } from '../errors.ts';

interface Holder {
  pid: number;
  /** The process's start time (Linux, in clock ticks since boot): a reused pid does not match it. */
  started?: string;
  host: string;
  command: string;
  since: string;
}

/** The lock of a PGlite data directory: a file beside it (inside, it would stop initdb of an empty one). */
export const lockFileOf = (dataDir: string) => `${path.resolve(dataDir)}.lock`;

/** A process's start time from /proc (field 22 of its stat line), where there is a /proc. */
function startTimeOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * Whether the holder still runs on this host: its pid is alive (EPERM: alive, another user's) and,
 * where /proc tells, started when the holder did (after a crash and a reboot, another program may
 * have its pid).
 */
function alive(holder: Holder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const started = startTimeOf(holder.pid);
  return !(holder.started && started && started !== holder.started);
}

const readRaw = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

function parseHolder(raw: string): Holder | undefined {
  try {
    const h = JSON.parse(raw) as Holder;
    return Number.isInteger(h.pid) && h.pid > 0 ? h : undefined;
  } catch {
    // Absent, or half written by a process that died while writing it: nobody holds it.
    return undefined;
  }
}

/**
 * Takes the data directory for this process, or throws naming the lock file and its holder. PGlite
 * is one process's store: a second opener would corrupt it. A lock left by a process that died
 * (its pid is gone) is taken over; one held on another host (a shared volume) cannot be checked
 * and is refused. Released by the returned function, and at exit whatever way the process ends
 * short of SIGKILL (then the dead pid frees it).
 */
export function lockDataDir(dataDir: string): () => void {
  const file = lockFileOf(dataDir);
  const me: Holder = {
    pid: process.pid,
    started: startTimeOf(process.pid),
    host: hostname(),
    command: process.argv.slice(2, 4).join(' ') || 'node',
    since: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      const release = () => {
        if (parseHolder(readRaw(file))?.pid === process.pid) unlinkSync(file);
        process.off('exit', release);
      };
      process.on('exit', release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const raw = readRaw(file);
    const holder = parseHolder(raw);
    if (holder && (holder.host !== me.host || alive(holder))) {
      const where = holder.host === me.host ? '' : ` on host ${holder.host}`;
      throw new AppError(
        'conflict',
        `the embedded store ${path.resolve(dataDir)} is in use by process ${holder.pid}${where} ` +
          `("agentry ${holder.command}", since ${holder.since}; lock ${file}). The embedded store ` +
          'belongs to one process: use the running server through its API (agentry status, ' +
          'create-task, tasks, ...), stop it first, or use PostgreSQL (DATABASE_URL) to run several.',
      );
    }
    // Its holder is dead: take the lock over, unless another starter has just done so (then the
    // file holds its live pid and the next round refuses); `wx` decides between the rest.
    try {
      if (readRaw(file) === raw) unlinkSync(file);
    } catch {}
  }
  throw new AppError('conflict', `could not take the lock ${file} of the embedded store`);
}
