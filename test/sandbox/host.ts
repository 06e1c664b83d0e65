import { readdirSync, readFileSync } from 'node:fs';

/** Host processes running as `uid` (every sandbox process runs as 65534 on the host). */
export function hostProcessesOf(uid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      const real = /^Uid:\s+(\d+)/m.exec(status)?.[1];
      if (Number(real) === uid) pids.push(Number(name));
    } catch {
      // Exited while we looked.
    }
  }
  return pids;
}

/**
 * Waits until `check` holds, polling; fails with `message` after `ms`. 30 s: sandboxes and their
 * interpreter threads can take seconds each to start on a loaded 2-core machine.
 */
export async function eventually(check: () => boolean, message: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(message);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const MiB = 1024 * 1024;
