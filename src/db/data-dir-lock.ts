import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { AppError } from '../errors.ts';
import { flockNow } from './kernel-lock.ts';

interface Holder {
  pid: number;
  /** The process's start time (Linux, in clock ticks since boot): a reused pid does not match it. */
  started?: string;
  host: string;
  command: string;
  since: string;
  /** 'kernel': the holder keeps a flock on the file (kernel-lock.ts); absent: only its pid tells. */
  lock?: 'kernel';
}

/** How long a starter waits for the kernel to free the lock of a holder that has ended. */
const ENDING_HOLDER_MS = 5000;

/** Blocks this thread (start-up only: nothing else runs yet). */
const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** The lock of a PGlite data directory: a file beside it (inside, it would stop initdb of an empty one). */
export const lockFileOf = (dataDir: string) => `${path.resolve(dataDir)}.lock`;

/** A process's state and start time from /proc (fields 3 and 22 of its stat line), where there is a /proc. */
function statOf(pid: number): { state?: string; started?: string } {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return { state: fields[0], started: fields[19] };
  } catch {
    return {};
  }
}

/**
 * Whether a holder that keeps no kernel lock still runs on this host: its pid is alive (EPERM: alive,
 * another user's), is not a zombie that its parent has not reaped yet (Z) nor dead (X), and, where
 * /proc tells, started when the holder did (after a crash and a reboot, another program may have its pid).
 */
function alive(holder: Holder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const { state, started } = statOf(holder.pid);
  if (state === 'Z' || state === 'X') return false;
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

/** Whether `fd` is still the file at `file` (a releasing holder removes it; a new one may be there). */
function isFileAt(fd: number, file: string): boolean {
  try {
    const [open, named] = [fstatSync(fd), statSync(file)];
    return open.ino === named.ino && open.dev === named.dev;
  } catch {
    return false;
  }
}

/** The refusal, saying who holds the store, how to check, and when the lock file may go. */
function inUse(dataDir: string, file: string, holder: Holder | undefined, byKernel: boolean) {
  const local = !holder || holder.host === hostname();
  const who = holder
    ? `process ${holder.pid}${local ? '' : ` on host ${holder.host}`} ("agentry ${holder.command}", since ${holder.since}; lock ${file})`
    : `another process (lock ${file})`;
  const check = holder
    ? `\`ps -p ${holder.pid} -o pid,stat,lstart,args\`${local ? '' : ` on ${holder.host}`}`
    : '';
  const how = byKernel
    ? `The kernel holds that lock for as long as its holder runs and frees it when the process ends, ` +
      `so the file never needs removing; see the holder with ${check ? `${check} or ` : ''}\`fuser -v ${file}\`.`
    : `Check the holder with ${check || `the process named in ${file}`}: only if no such process runs ` +
      `(or it shows state Z, ended but not yet reaped) is the lock stale, and removing ${file} safe.`;
  return new AppError(
    'conflict',
    `the embedded store ${path.resolve(dataDir)} is in use by ${who}. The embedded store belongs ` +
      'to one process: use the running server through its API (agentry status, create-task, ' +
      `tasks, ...), stop it first, or use PostgreSQL (DATABASE_URL) to run several. ${how}`,
  );
}

/** Frees the lock at exit too, whatever way the process ends short of a signal it cannot catch. */
function releaser(free: () => void): () => void {
  let done = false;
  const release = () => {
    if (done) return;
    done = true;
    process.off('exit', release);
    free();
  };
  process.on('exit', release);
  return release;
}

/**
 * Opens the lock file and asks for its flock. A lock still held while the holder the file names has
 * ended, or is a zombie, is asked for again within ENDING_HOLDER_MS: the kernel frees a process's
 * files when its last thread has exited, which can trail the zombie state under load. A live
 * holder's answer comes at once.
 */
function openAndLock(file: string, me: Holder) {
  const ending = Date.now() + ENDING_HOLDER_MS;
  for (;;) {
    const fd = openSync(file, constants.O_RDWR | constants.O_CREAT, 0o600);
    const answer = flockNow(fd);
    const earlier = answer === 'unsupported' ? undefined : parseHolder(readRaw(file));
    const holderEnded = answer === 'busy' && earlier?.host === me.host && !alive(earlier);
    if (!holderEnded || Date.now() >= ending) return { fd, answer, earlier };
    closeSync(fd);
    sleepSync(25);
  }
}

/**
 * The kernel's way: a flock on the open lock file, which the kernel frees when this process ends,
 * however it ends. The file also names the holder, for the refusal's message. Undefined where there
 * is no flock (kernel-lock.ts).
 */
function lockByKernel(dataDir: string, file: string, me: Holder): (() => void) | undefined {
  for (let attempt = 0; attempt < 3; attempt++) {
    const { fd, answer, earlier } = openAndLock(file, me);
    // A holder that took no kernel lock (an earlier version, or a host without flock) is judged by its pid.
    const refused =
      answer === 'busy' ||
      (earlier?.lock !== 'kernel' && earlier && (earlier.host !== me.host || alive(earlier)));
    if (answer !== 'taken' || refused || !isFileAt(fd, file)) {
      closeSync(fd);
      if (answer === 'unsupported') return undefined;
      if (refused) throw inUse(dataDir, file, earlier, answer === 'busy');
      continue; // its holder removed the file as we opened it: lock the one there now
    }
    ftruncateSync(fd, 0);
    writeSync(fd, JSON.stringify({ ...me, lock: 'kernel' }), 0);
    return releaser(() => {
      // Removed while still locked: a starter that opened it meanwhile sees it is gone and retries.
      if (isFileAt(fd, file)) unlinkSync(file);
      closeSync(fd);
    });
  }
  throw new AppError('conflict', `could not take the lock ${file} of the embedded store`);
}

/**
 * Where there is no flock: the lock file is created exclusively and names its holder's pid. A lock
 * whose holder is gone (or a zombie) is taken over; one held on another host (a shared volume) cannot
 * be checked and is refused. A holder killed outright leaves the file, which its dead pid frees.
 */
function lockByPid(dataDir: string, file: string, me: Holder): () => void {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      return releaser(() => {
        if (parseHolder(readRaw(file))?.pid === process.pid) unlinkSync(file);
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const raw = readRaw(file);
    const holder = parseHolder(raw);
    if (holder && (holder.host !== me.host || alive(holder))) throw inUse(dataDir, file, holder, false);
    // Its holder is dead: take the lock over, unless another starter has just done so (then the
    // file holds its live pid and the next round refuses); `wx` decides between the rest.
    try {
      if (readRaw(file) === raw) unlinkSync(file);
    } catch {
      // Removed by another starter already, or not ours to remove: the next round's `wx` open decides.
    }
  }
  throw new AppError('conflict', `could not take the lock ${file} of the embedded store`);
}

/**
 * Takes the data directory for this process, or throws naming the lock file, its holder, how to
 * check it and when the file may be removed. PGlite is one process's store: a second opener would
 * corrupt it. Released by the returned function, and by the kernel or at exit otherwise.
 * `kernel: false` uses the pid check alone, as on a system without flock(1).
 */
export function lockDataDir(dataDir: string, options: { kernel?: boolean } = {}): () => void {
  const file = lockFileOf(dataDir);
  const me: Holder = {
    pid: process.pid,
    started: statOf(process.pid).started,
    host: hostname(),
    command: process.argv.slice(2, 4).join(' ') || 'node',
    since: new Date().toISOString(),
  };
  return (options.kernel !== false && lockByKernel(dataDir, file, me)) || lockByPid(dataDir, file, me);
}
