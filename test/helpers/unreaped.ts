import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { eventually } from './eventually.ts';

/** A process started under a parent that never waits for it, as in a container whose first process does not reap. */
export interface Unreaped {
  /** The process's pid (its parent's child). */
  pid: number;
  /** The parent: a shell that started it, then became `sleep` (which never waits). */
  parent: ChildProcess;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** SIGKILLs the process and resolves once it is a zombie: ended, its files closed, not reaped. */
  kill(): Promise<void>;
  /** Ends the parent, whereupon init reaps the zombie. */
  stop(): void;
}

/** The state letter of a process (Z: zombie), or undefined once it is gone. */
export function processState(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
  } catch {
    return undefined;
  }
}

/**
 * Runs `command args` as the child of a shell that then execs `sleep`: the child stays a zombie after
 * it dies, since its parent never calls wait().
 */
export async function spawnUnreaped(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<Unreaped> {
  const parent = spawn('sh', ['-c', '"$@" & echo $!; exec sleep 3600', 'sh', command, ...args], {
    ...options,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  parent.stdout!.on('data', (d) => {
    stdout += d;
  });
  parent.stderr!.on('data', (d) => {
    stderr += d;
  });
  const pid = await eventually(
    async () => {
      const line = /^(\d+)\n/.exec(stdout);
      return line ? Number(line[1]) : undefined;
    },
    30_000,
    'the pid of the unreaped child',
  );
  return {
    pid,
    parent,
    stderr: () => stderr,
    kill: async () => {
      process.kill(pid, 'SIGKILL');
      await eventually(
        async () => (processState(pid) === 'Z' ? true : undefined),
        30_000,
        `${pid} to be a zombie`,
      );
    },
    stop: () => {
      parent.kill('SIGKILL');
    },
  };
}
