import { spawnSync } from 'node:child_process';

/** What the kernel answered to an exclusive advisory lock asked without waiting. */
export type KernelLock = 'taken' | 'busy' | 'unsupported';

/** flock(1)'s exit status when the lock is held elsewhere (EX_TEMPFAIL), told apart from its errors. */
const BUSY = 75;

/**
 * Takes an exclusive flock(2) lock on the open file `fd`, without waiting.
 *
 * Node has no flock, and the addons that add it (fs-ext, os-lock) compile at install, which an
 * install without scripts does not do. util-linux's flock(1) takes the lock on a descriptor it
 * inherits, and such a lock belongs to the open file description, not to the process that asked:
 * this process keeps it after flock(1) has exited, for as long as `fd` stays open here. The kernel
 * frees it when this process ends, however it ends and whether or not its parent ever reaps it (a
 * zombie has no open files). Node opens files close-on-exec, so no child of the server inherits it.
 *
 * 'unsupported' where there is no util-linux flock (macOS, Windows, BusyBox's lacks -E) or the file
 * system has no locks; the caller then falls back to checking the holder's pid.
 */
export function flockNow(fd: number): KernelLock {
  const r = spawnSync('flock', ['-n', '-x', '-E', String(BUSY), '3'], {
    stdio: ['ignore', 'ignore', 'ignore', fd],
  });
  if (r.error || r.status === null) return 'unsupported';
  if (r.status === 0) return 'taken';
  return r.status === BUSY ? 'busy' : 'unsupported';
}
