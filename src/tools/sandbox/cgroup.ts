import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../observability/logger.ts';

/** How resource limits are enforced on this machine, best first. */
export type LimitMode = 'cgroup-v2' | 'cgroup-v1' | 'rlimits';

export interface CgroupLimits {
  memory_bytes: number;
  max_processes: number;
  cpu_quota: number;
}

/** One sandbox's control group(s): the launcher joins them by writing its pid to `procsFiles`. */
export interface Cgroup {
  readonly procsFiles: string[];
  /** Did the kernel's OOM killer act inside this group? */
  oomKilled(): boolean;
  /** SIGKILLs every process left in the group. */
  killAll(): void;
  /** Removes the group; retries while the kernel is still reaping its processes. */
  remove(): Promise<void>;
}

export interface CgroupManager {
  readonly mode: LimitMode;
  /** Where the sandbox groups are created (for /health). */
  readonly location?: string;
  create(name: string, limits: CgroupLimits): Cgroup | null;
}

const ROOT = '/sys/fs/cgroup';
const PERIOD_US = 100_000;

/** This process's cgroup path per v1 controller, and its v2 path (`0::/…`), from /proc/self/cgroup. */
function ownPaths(): { v1: Map<string, string>; v2?: string } {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, p] = line.split(':', 3) as [string, string?, string?];
    if (controllers === undefined || p === undefined) continue;
    if (controllers === '') v2 = p;
    else for (const c of controllers.split(',')) v1.set(c, p);
  }
  return { v1, v2 };
}

function write(file: string, value: string | number): void {
  writeFileSync(file, String(value));
}

function tryWrite(file: string, value: string | number): void {
  try {
    write(file, value);
  } catch {
    // Optional knob (memsw without swap accounting, swap.max without swap): the main limit still holds.
  }
}

function readPids(file: string): number[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function killPids(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

async function removeDirs(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    for (let attempt = 0; ; attempt++) {
      try {
        rmdirSync(dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        // EBUSY: processes killed but not yet reaped. Give up after ~1 s; a stray empty group is harmless.
        if (code !== 'EBUSY' || attempt >= 50) break;
        killPids(readPids(path.join(dir, 'cgroup.procs')));
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

/**
 * Removes sandbox groups left by a server process that died without cleaning up (their names carry
 * its pid). Only empty groups can be removed; a busy one is left for the kernel to report.
 */
function sweepStale(bases: string[]): void {
  for (const base of bases) {
    let names: string[];
    try {
      names = readdirSync(base);
    } catch {
      continue;
    }
    for (const name of names) {
      const pid = /^agentry-sbx-(\d+)-\d+$/.exec(name)?.[1];
      if (!pid || Number(pid) === process.pid || alive(Number(pid))) continue;
      try {
        rmdirSync(path.join(base, name));
      } catch {
        // Still has processes, or already gone.
      }
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function v2Manager(base: string, log?: Logger): CgroupManager | null {
  // Children can only get memory/pids limits if this group hands those controllers down. A group
  // with processes of its own cannot (the "no internal processes" rule): then v2 is not usable here.
  try {
    const available = readFileSync(path.join(base, 'cgroup.controllers'), 'utf8').split(/\s+/);
    if (!available.includes('memory') || !available.includes('pids')) return null;
    const enable = ['memory', 'pids', ...(available.includes('cpu') ? ['cpu'] : [])];
    write(path.join(base, 'cgroup.subtree_control'), enable.map((c) => `+${c}`).join(' '));
    const probe = path.join(base, `agentry-probe-${process.pid}`);
    mkdirSync(probe);
    rmdirSync(probe);
  } catch (err) {
    log?.debug({ err, base }, 'cgroup v2 is not usable here: trying the next limit mode');
    return null;
  }
  sweepStale([base]);
  return {
    mode: 'cgroup-v2',
    location: base,
    create(name, limits) {
      const dir = path.join(base, name);
      mkdirSync(dir);
      write(path.join(dir, 'memory.max'), limits.memory_bytes);
      tryWrite(path.join(dir, 'memory.swap.max'), 0);
      write(path.join(dir, 'pids.max'), limits.max_processes);
      tryWrite(path.join(dir, 'cpu.max'), `${Math.round(limits.cpu_quota * PERIOD_US)} ${PERIOD_US}`);
      return {
        procsFiles: [path.join(dir, 'cgroup.procs')],
        oomKilled: () => /oom_kill [1-9]/.test(safeRead(path.join(dir, 'memory.events'))),
        killAll() {
          if (existsSync(path.join(dir, 'cgroup.kill'))) tryWrite(path.join(dir, 'cgroup.kill'), 1);
          else killPids(readPids(path.join(dir, 'cgroup.procs')));
        },
        remove: () => removeDirs([dir]),
      };
    },
  };
}

function v1Manager(own: Map<string, string>, log?: Logger): CgroupManager | null {
  const base = (controller: string) => path.join(ROOT, controller, own.get(controller) ?? '/');
  const controllers = ['memory', 'pids', ...(existsSync(path.join(ROOT, 'cpu')) ? ['cpu'] : [])];
  try {
    for (const c of controllers) {
      const probe = path.join(base(c), `agentry-probe-${process.pid}`);
      mkdirSync(probe);
      rmdirSync(probe);
    }
  } catch (err) {
    log?.debug({ err }, 'cgroup v1 is not usable here: limits fall back to rlimits');
    return null;
  }
  sweepStale(controllers.map(base));
  return {
    mode: 'cgroup-v1',
    location: controllers.map(base).join(', '),
    create(name, limits) {
      const dirs = controllers.map((c) => path.join(base(c), name));
      for (const dir of dirs) mkdirSync(dir);
      const [memory, pids, cpu] = dirs as [string, string, string?];
      write(path.join(memory, 'memory.limit_in_bytes'), limits.memory_bytes);
      // Also caps swap when swap accounting is on, so a memory bomb cannot spill into swap.
      tryWrite(path.join(memory, 'memory.memsw.limit_in_bytes'), limits.memory_bytes);
      write(path.join(pids, 'pids.max'), limits.max_processes);
      if (cpu) {
        write(path.join(cpu, 'cpu.cfs_period_us'), PERIOD_US);
        write(path.join(cpu, 'cpu.cfs_quota_us'), Math.round(limits.cpu_quota * PERIOD_US));
      }
      return {
        procsFiles: dirs.map((d) => path.join(d, 'cgroup.procs')),
        oomKilled: () => /oom_kill [1-9]/.test(safeRead(path.join(memory, 'memory.oom_control'))),
        killAll: () => killPids(readPids(path.join(pids, 'cgroup.procs'))),
        remove: () => removeDirs(dirs),
      };
    },
  };
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Picks cgroup v2 when this process may create limited child groups there, cgroup v1 (memory, pids,
 * cpu controllers) when that is what the machine has, and plain rlimits otherwise. Why a mode was
 * passed over goes to `log` at debug.
 */
export function detectCgroups(prefer: 'auto' | LimitMode = 'auto', log?: Logger): CgroupManager {
  const rlimits: CgroupManager = { mode: 'rlimits', create: () => null };
  if (prefer === 'rlimits') return rlimits;
  let own: ReturnType<typeof ownPaths>;
  try {
    own = ownPaths();
  } catch {
    return rlimits;
  }
  if (prefer !== 'cgroup-v1' && own.v2 !== undefined) {
    // Pure v2 mounts at /sys/fs/cgroup; hybrid systems put it at /sys/fs/cgroup/unified.
    for (const mount of [ROOT, path.join(ROOT, 'unified')]) {
      if (!existsSync(path.join(mount, 'cgroup.controllers'))) continue;
      const manager = v2Manager(path.join(mount, own.v2), log);
      if (manager) return manager;
    }
  }
  if (prefer !== 'cgroup-v2') {
    const manager = v1Manager(own.v1, log);
    if (manager) return manager;
  }
  return rlimits;
}
