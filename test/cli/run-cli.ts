import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { snapshotEnv, testFileKey, testNodeFlags, testSharedBuffersMb } from '../helpers/pglite-snapshot.ts';

/** The real `agentry` bin, run as a person would run it. */
export const bin = fileURLToPath(new URL('../../bin/agentry.js', import.meta.url));
/** Node's arguments for `agentry <args>` in a test (testNodeFlags, then the bin). */
export const agentryArgv = (args: readonly string[]) => [...testNodeFlags, bin, ...args];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Added to a clean environment (see `cleanEnv`). */
  env?: Record<string, string>;
  cwd?: string;
}

/**
 * The parent's environment without anything that would point a child at another server or store:
 * each test says explicitly which URL, key, database or credentials file its process gets. A server
 * it starts does not shed load on event-loop delay (as test/helpers/server.ts): a loaded machine
 * answered 503 to a server's first requests. A test that means to see shedding sets the variable.
 * Its embedded store has the small buffer cache of every test store and, when new, starts from the
 * run's migrated snapshot (test/helpers/pglite-snapshot.ts).
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('AGENTRY_') || k === 'DATABASE_URL' || k === 'REDIS_URL') continue;
    env[k] = v;
  }
  return {
    ...env,
    AGENTRY_MAX_EVENT_LOOP_DELAY_MS: '0',
    AGENTRY_PGLITE_SHARED_BUFFERS_MB: String(testSharedBuffersMb),
    ...(process.env[snapshotEnv] && { AGENTRY_PGLITE_SEED_FILE: process.env[snapshotEnv] }),
    ...extra,
  };
}

/** A temporary directory, removed by the returned function. */
export function tempDir(prefix = 'agentry-cli-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

// An empty working directory for runs that name none, so no agentry.yaml, tenants.yaml or
// credentials file lying around in the shared temp dir can change what a test sees. One per test
// file: files that share a process (scripts/test-batches.mjs) must not see what another's runs left
// there, such as a first start's data directory and credentials file.
const emptyDirs = new Map<unknown, string>();
process.on('exit', () => {
  for (const dir of emptyDirs.values()) rmSync(dir, { recursive: true, force: true });
});
function emptyDir(): string {
  const file = (globalThis as Record<symbol, unknown>)[testFileKey];
  let dir = emptyDirs.get(file);
  if (!dir) {
    dir = mkdtempSync(path.join(tmpdir(), 'agentry-cwd-'));
    emptyDirs.set(file, dir);
  }
  return dir;
}

/** Runs `agentry <args>` to completion and collects its output. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, agentryArgv(args), {
      cwd: options.cwd ?? emptyDir(),
      env: cleanEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A spawned long-running `agentry` process (serve) that tests must stop in `after` hooks. */
export interface Spawned {
  child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string | null>;
  /** SIGTERM, then SIGKILL if it is still there after a grace period; resolves when it is gone. */
  stop(): Promise<number | string | null>;
}

export function spawnCli(args: string[], options: RunOptions = {}): Spawned {
  const child = spawn(process.execPath, agentryArgv(args), {
    cwd: options.cwd ?? emptyDir(),
    env: cleanEnv(options.env),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  // The exit code, or the name of the signal that ended the process.
  const exited = new Promise<number | string | null>((resolve) =>
    child.on('close', (code, signal) => resolve(code ?? signal)),
  );
  return {
    child,
    stderr: () => stderr,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        // Only a safety net so a hung server cannot outlive the tests; the tests check the exit code.
        const force = setTimeout(() => child.kill('SIGKILL'), 120_000);
        const code = await exited;
        clearTimeout(force);
        return code;
      }
      return exited;
    },
  };
}

/**
 * Starts `agentry serve` and waits for its "agentry listening on <url>" line. Rejects with the
 * output so far when the process ends first.
 */
export async function startServe(
  args: string[],
  options: RunOptions = {},
): Promise<Spawned & { url: string }> {
  const proc = spawnCli(['serve', '--port', '0', '--log-level', 'warn', ...args], options);
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = /agentry listening on (http:\/\/\S+)/.exec(proc.stderr());
      if (m) resolve(m[1]!);
    };
    proc.child.stderr!.on('data', check);
    proc.exited.then((code) =>
      reject(new Error(`agentry serve exited (${code}) before listening:\n${proc.stderr()}`)),
    );
  });
  // The server prints its ready line a moment before it installs its SIGTERM handler; one answered
  // request proves the event loop has moved past both, so a stop right after is a graceful one.
  await fetch(`${url}/health`).then((r) => r.arrayBuffer());
  return { ...proc, url };
}
