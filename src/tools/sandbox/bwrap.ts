import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { ARGS_FD, bwrapArgs, READY_BYTE, SANDBOX_GID, SANDBOX_UID, type SandboxBind } from './bwrap-args.ts';
import type { Cgroup, CgroupManager } from './cgroup.ts';
import { OutputCollector } from './output.ts';
import { compileSeccompFilter } from './seccomp.ts';
import {
  type ExecuteRequest,
  type ExecuteResult,
  type Sandbox,
  type SandboxBackend,
  type SandboxLimits,
  SandboxUnavailableError,
} from './types.ts';

const READY_TIMEOUT_MS = 10_000;
const INSTALL_HINT =
  'install bubblewrap (Debian/Ubuntu: apt-get install -y bubblewrap; Fedora: dnf install bubblewrap)';

export interface BwrapSandbox extends Sandbox {
  child: ChildProcess;
  cgroup: Cgroup | null;
  /** stdout bytes that arrived after the ready byte but before execute listened. */
  early: Buffer[];
  exited: Promise<void>;
  used: boolean;
  /** The host folder shown read-only at SHARED_MOUNT inside, when the backend has a `shareDir`. */
  shared?: string;
}

/** A long-lived program in a sandbox (see `BwrapBackend.open`). */
export interface SandboxProcess {
  stdin: Writable;
  stdout: Readable;
  /** What the program wrote to stderr so far (cut at the output limit). */
  stderr(): string;
  /** Resolves with the exit status (null when killed) once the sandbox is gone. */
  exited: Promise<number | null>;
}

export interface BwrapBackendOptions {
  limits: SandboxLimits;
  cgroups: CgroupManager;
  /** Where bwrap is; found on the usual paths when absent. */
  bwrapPath?: string;
  /**
   * A host folder (mode 0711) under which every sandbox gets a fresh folder of its own, bound read-only
   * at SHARED_MOUNT: the host puts files and a Unix socket there after acquire (local-dev agents'
   * bundle and bridge). Removed with the sandbox.
   */
  shareDir?: string;
}

function findExecutable(name: string): string | undefined {
  for (const dir of ['/usr/bin', '/usr/local/bin', '/bin', ...(process.env.PATH ?? '').split(':')]) {
    const file = path.join(dir, name);
    if (dir && existsSync(file)) return file;
  }
  return undefined;
}

/** Numbers sandboxes across every backend in the process: their cgroups share one parent folder. */
let sandboxSeq = 0;

/**
 * bubblewrap sandboxes: a fresh set of namespaces (user, pid, net, ipc, uts, cgroup, mount) per
 * sandbox, running as an unprivileged uid with no capabilities, under the seccomp filter, in its own
 * control group. When the server runs as root, bubblewrap itself is started as uid 65534 through
 * setpriv, so even an escape from the namespaces lands as `nobody` on the host.
 *
 * The constructor checks nothing; `start()` proves isolation works (a real sandbox runs `true`) and
 * throws a SandboxUnavailableError naming what is missing otherwise.
 */
export class BwrapBackend implements SandboxBackend<BwrapSandbox> {
  readonly type = 'bwrap';
  private readonly limits: SandboxLimits;
  private readonly cgroups: CgroupManager;
  private bwrap?: string;
  private setpriv?: string;
  private version?: string;
  private seccompDir?: string;
  private seccompFile?: string;
  private readonly shareDir?: string;

  constructor(options: BwrapBackendOptions) {
    this.limits = options.limits;
    this.cgroups = options.cgroups;
    this.bwrap = options.bwrapPath;
    this.shareDir = options.shareDir;
  }

  async start(): Promise<void> {
    if (process.platform !== 'linux')
      throw new SandboxUnavailableError(`bwrap sandboxes need Linux, not ${process.platform}`);
    this.bwrap ??= findExecutable('bwrap');
    if (!this.bwrap || !existsSync(this.bwrap)) {
      throw new SandboxUnavailableError(`bubblewrap (bwrap) is not installed: ${INSTALL_HINT}`);
    }
    try {
      this.version = execFileSync(this.bwrap, ['--version'], { encoding: 'utf8' }).trim();
    } catch (err) {
      throw new SandboxUnavailableError(
        `${this.bwrap} --version failed (${(err as Error).message}): ${INSTALL_HINT}`,
      );
    }
    if (process.getuid?.() === 0) {
      this.setpriv = findExecutable('setpriv');
      if (!this.setpriv) {
        throw new SandboxUnavailableError(
          'the server runs as root and setpriv (util-linux) is missing, so sandboxes cannot drop to an unprivileged uid: apt-get install -y util-linux',
        );
      }
    }
    let program: Buffer;
    try {
      program = compileSeccompFilter();
    } catch (err) {
      throw new SandboxUnavailableError(`no seccomp filter for this machine: ${(err as Error).message}`);
    }
    this.seccompDir = mkdtempSync(path.join(tmpdir(), 'agentry-seccomp-'));
    this.seccompFile = path.join(this.seccompDir, 'filter.bpf');
    writeFileSync(this.seccompFile, program, { mode: 0o644 });
    // A real sandbox, end to end: proves user namespaces, the mounts and the filter all work here.
    const probe = await this.acquire().catch((err: Error) => {
      throw new SandboxUnavailableError(
        `bubblewrap cannot create a sandbox on this machine (${err.message}); user namespaces must be allowed (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0, no AppArmor userns restriction)`,
      );
    });
    const result = await this.execute(probe, { code: 'true' });
    await this.release(probe);
    if (result.exit_code !== 0) {
      throw new SandboxUnavailableError(`a probe sandbox failed to run \`true\`: ${result.stderr.trim()}`);
    }
  }

  stop(): void {
    if (this.seccompDir) rmSync(this.seccompDir, { recursive: true, force: true });
  }

  describe(): Record<string, unknown> {
    return {
      bubblewrap: this.version ?? 'missing',
      namespaces: ['user', 'pid', 'net', 'ipc', 'uts', 'cgroup', 'mount'],
      uid: SANDBOX_UID,
      host_uid: this.setpriv ? SANDBOX_UID : process.getuid?.(),
      capabilities: 'none',
      no_new_privs: true,
      seccomp:
        'x86_64 deny-list (mount, ptrace, bpf, keyctl, userns, io_uring, perf, kexec, modules, inet sockets; clone3 ENOSYS)',
      filesystem: 'read-only /usr, private /proc and /dev, tmpfs /workspace and /tmp',
      network: 'none (empty network namespace)',
      limits: this.cgroups.mode,
      ...(this.cgroups.location && { cgroup: this.cgroups.location }),
    };
  }

  /** `binds`: host paths shown read-only inside this sandbox only (long-lived MCP sandboxes; pool sandboxes have none). */
  async acquire(options: { binds?: readonly SandboxBind[] } = {}): Promise<BwrapSandbox> {
    if (!this.bwrap || !this.seccompFile)
      throw new SandboxUnavailableError('the bwrap backend was not started');
    const id = `agentry-sbx-${process.pid}-${++sandboxSeq}`;
    const cgroup = this.cgroups.create(id, this.limits);
    // Random name: other host users may traverse shareDir (0711) but cannot guess their way in.
    const shared = this.shareDir ? mkdtempSync(path.join(this.shareDir, 'sbx-')) : undefined;
    if (shared) chmodSync(shared, 0o755); // the sandbox's uid reads it
    // bwrap's own options (host paths of binds and the shared folder among them) go through a pipe:
    // its reaper is pid 1 inside the sandbox, and its command line would show them in /proc/1/cmdline.
    const { options: sandboxOptions, command: program } = bwrapArgs(
      this.limits,
      cgroup === null,
      shared,
      options.binds,
    );
    let command = [this.bwrap, '--args', String(ARGS_FD), '--', ...program];
    if (this.setpriv) {
      command = [
        this.setpriv,
        `--reuid=${SANDBOX_UID}`,
        `--regid=${SANDBOX_GID}`,
        '--clear-groups',
        '--inh-caps=-all',
        '--bounding-set=-all',
        '--',
        ...command,
      ];
    }
    if (cgroup) {
      // The shell joins the groups before anything of the sandbox exists, so nothing escapes the limits.
      // The shell exports PWD, which bwrap (pid 1 inside) would keep in its /proc/1/environ.
      const join =
        'for f; do [ "$f" = -- ] && break; echo $$ > "$f" || exit 125; shift; done; shift; unset PWD; exec "$@"';
      command = ['/bin/sh', '-c', join, 'sh', ...cgroup.procsFiles, '--', ...command];
    }
    const fd = openSync(this.seccompFile, 'r');
    let child: ChildProcess;
    try {
      child = spawn(command[0]!, command.slice(1), {
        stdio: ['pipe', 'pipe', 'pipe', fd, 'pipe'],
        env: {},
        // Nothing of the server's working directory reaches the processes that start the sandbox.
        cwd: '/',
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    const argsPipe = child.stdio[ARGS_FD] as Writable | null;
    argsPipe?.on('error', () => {}); // EPIPE when bwrap failed before reading them; its stderr says why
    argsPipe?.end(sandboxOptions.map((a) => `${a}\0`).join(''));
    // 'close' after the process and its pipes are done; 'error' alone when it could not be spawned.
    const exited = new Promise<void>((resolve) => {
      child.once('close', () => resolve());
      child.once('error', () => resolve());
    });
    const sandbox: BwrapSandbox = {
      id,
      type: this.type,
      child,
      cgroup,
      early: [],
      exited,
      used: false,
      shared,
    };
    try {
      await waitReady(sandbox);
    } catch (err) {
      await this.release(sandbox);
      throw err;
    }
    return sandbox;
  }

  async execute(sandbox: BwrapSandbox, request: ExecuteRequest): Promise<ExecuteResult> {
    if (sandbox.used) throw new Error('a sandbox runs one program only');
    sandbox.used = true;
    const started = performance.now();
    const { child } = sandbox;
    const timeoutMs = Math.min(request.timeout_ms ?? this.limits.timeout_ms, this.limits.timeout_ms);
    let killed: ExecuteResult['killed'];
    const kill = (why: NonNullable<ExecuteResult['killed']>) => {
      killed ??= why;
      killGroup(child);
    };
    const stdout = new OutputCollector(this.limits.max_output_bytes, () => kill('output_limit'));
    const stderr = new OutputCollector(this.limits.max_output_bytes, () => kill('output_limit'));
    for (const chunk of sandbox.early) stdout.push(chunk);
    child.stdout!.on('data', (c: Buffer) => stdout.push(c));
    child.stderr!.on('data', (c: Buffer) => stderr.push(c));
    child.stdout!.resume();
    child.stderr!.resume();
    const timer = setTimeout(() => kill('timeout'), timeoutMs);
    const onAbort = () => kill('cancelled');
    request.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdin!.on('error', () => {}); // EPIPE when the program exits without reading its stdin
    child.stdin!.end(
      Buffer.concat([Buffer.from(request.code), Buffer.from([0]), Buffer.from(request.stdin ?? '')]),
    );
    await sandbox.exited;
    clearTimeout(timer);
    request.signal?.removeEventListener('abort', onAbort);
    if (!killed && sandbox.cgroup?.oomKilled()) killed = 'memory';
    return {
      exit_code: killed && killed !== 'memory' ? null : child.exitCode,
      stdout: stdout.text(),
      stderr: stderr.text(),
      timed_out: killed === 'timeout',
      truncated: stdout.truncated || stderr.truncated,
      ...(killed && { killed }),
      duration_ms: performance.now() - started,
    };
  }

  /**
   * Starts a long-lived program (an MCP stdio server) in the sandbox and hands over its pipes: it
   * reads `stdin` and writes `stdout` until the caller releases the sandbox. There is no wall-clock
   * limit and stdout is not cut (it is a protocol stream the caller reads); stderr keeps its first
   * `max_output_bytes` for error messages. Every other limit, namespace and filter is as for `execute`.
   */
  open(sandbox: BwrapSandbox, code: string): SandboxProcess {
    if (sandbox.used) throw new Error('a sandbox runs one program only');
    sandbox.used = true;
    const { child } = sandbox;
    const stdout = new PassThrough();
    for (const chunk of sandbox.early) stdout.write(chunk);
    child.stdout!.pipe(stdout);
    const stderr = new OutputCollector(this.limits.max_output_bytes, () => {});
    child.stderr!.on('data', (c: Buffer) => stderr.push(c));
    child.stderr!.resume();
    child.stdin!.on('error', () => {}); // EPIPE once the program has exited
    child.stdin!.write(Buffer.concat([Buffer.from(code), Buffer.from([0])]));
    return {
      stdin: child.stdin!,
      stdout,
      stderr: () => stderr.text(),
      exited: sandbox.exited.then(() => child.exitCode),
    };
  }

  async release(sandbox: BwrapSandbox): Promise<void> {
    // Killing bwrap takes its pid namespace (and with it every process inside) down; the group
    // kill and the cgroup sweep catch anything that was still being set up.
    killGroup(sandbox.child);
    sandbox.cgroup?.killAll();
    // Unread output would hold the pipes (and so the 'close' event) open.
    sandbox.child.stdout!.resume();
    sandbox.child.stderr!.resume();
    await sandbox.exited;
    await sandbox.cgroup?.remove();
    if (sandbox.shared) rmSync(sandbox.shared, { recursive: true, force: true });
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/** Resolves on the launcher's ready byte; rejects with bubblewrap's own message if it exits first. */
function waitReady(sandbox: BwrapSandbox): Promise<void> {
  const { child } = sandbox;
  let timer: NodeJS.Timeout | undefined;
  return new Promise<void>((resolve, reject) => {
    const errors: Buffer[] = [];
    const onErr = (c: Buffer) => errors.push(c);
    const onData = (c: Buffer) => {
      const at = c.indexOf(READY_BYTE);
      if (at !== 0) return; // nothing else can precede the ready byte
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onErr);
      child.off('error', onFail);
      if (c.length > 1) sandbox.early.push(c.subarray(1));
      child.stdout!.pause();
      child.stderr!.pause();
      resolve();
    };
    const onFail = (err?: Error) => {
      const message =
        Buffer.concat(errors).toString('utf8').trim() || err?.message || `exited with ${child.exitCode}`;
      reject(new Error(message));
    };
    // A sandbox that never comes up must not hold a pool slot (or a shutdown) forever.
    timer = setTimeout(() => onFail(new Error(`not ready within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onErr);
    child.once('error', onFail);
    sandbox.exited.then(() => onFail());
  }).finally(() => clearTimeout(timer));
}
