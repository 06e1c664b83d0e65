import { execFileSync } from 'node:child_process';

/**
 * Programs from the system (not npm) that some test files run, with the package that provides each.
 * A missing one fails the run with what to install: a suite that skipped instead would pass while
 * testing less.
 */
/** PostgreSQL's server programs are not on PATH in Debian: initdb names where they are. */
export const pgInitdb = '/usr/lib/postgresql/15/bin/initdb';

export const systemDeps = [
  // The sandbox's tools and the local-dev agents run under bubblewrap.
  {
    command: 'bwrap',
    install: 'apt-get install -y bubblewrap',
    files: ['test/sandbox/', 'test/local-dev/', 'test/compat/isa-pools'],
  },
  // The console and the docs page are rendered in a real browser: Chromium's headless shell, the same
  // engine as the `chromium` package without the desktop browser's layers (the desktop build run
  // headless took ~4× the shell's CPU per browser context; docs/performance.md, test suite).
  {
    command: 'chromium-headless-shell',
    install: 'apt-get install -y chromium-headless-shell',
    files: ['test/http/openapi', 'test/console/'],
  },
  // Outage tests stop and start a Redis of their own.
  {
    command: 'redis-server',
    install: 'apt-get install -y redis-server',
    files: ['test/chaos/', 'test/http/health-redis'],
  },
  // The alert rules and the Prometheus config are checked and unit-tested by promtool.
  {
    command: 'promtool',
    install: 'apt-get install -y prometheus',
    files: ['test/deploy/'],
  },
  // Outage and chaos tests start a PostgreSQL cluster of their own (never the machine's).
  {
    command: pgInitdb,
    install: 'apt-get install -y postgresql-15',
    files: ['test/chaos/', 'test/http/store-outage', 'test/http/metrics-store-down'],
  },
  // The embedded store's lock is a flock taken through util-linux's flock(1) (src/db/kernel-lock.ts).
  {
    command: 'flock',
    install: 'apt-get install -y util-linux',
    files: ['test/db/data-dir-lock', 'test/cli/store-lock'],
  },
] as const;

type SystemCommand = (typeof systemDeps)[number]['command'];

/** The path of `command`, or undefined when it is not on PATH. */
export function findCommand(command: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Whether any of the given test files runs `command`. */
export function usesCommand(command: SystemCommand, files: readonly string[]): boolean {
  const dep = systemDeps.find((d) => d.command === command)!;
  return files.some((f) => dep.files.some((prefix) => f.includes(prefix)));
}

/** What to install for the given test files, one line per missing program (empty when nothing is missing). */
export function missingSystemDeps(files: readonly string[]): string[] {
  return systemDeps
    .filter((d) => usesCommand(d.command, files))
    .filter((d) => !findCommand(d.command))
    .map((d) => `${d.command} is not installed: install it (${d.install})`);
}

/** The path of a system program a test needs; throws with what to install when it is missing. */
export function requireCommand(command: SystemCommand): string {
  const found = findCommand(command);
  if (found) return found;
  const dep = systemDeps.find((d) => d.command === command)!;
  throw new Error(`${command} is not installed: install it (${dep.install})`);
}
