import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import type { SandboxLimits } from './types.ts';

/** The uid/gid the sandboxed code runs as, inside the sandbox and (when the server is root) on the host. */
export const SANDBOX_UID = 65534;
export const SANDBOX_GID = 65534;

/** The sandbox's file descriptor carrying the seccomp program. */
const SECCOMP_FD = 3;

/** The file descriptor bubblewrap reads its options from (NUL-separated, `--args`). */
export const ARGS_FD = 4;

/** The byte the launcher prints once the sandbox is up and waiting for its program. */
export const READY_BYTE = 0x52; // 'R'

/** Top-level names that are symlinks into /usr on merged-/usr systems (bin -> usr/bin) or real directories. */
const SYSTEM_DIRS = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

function systemDirArgs(): string[] {
  const args: string[] = [];
  for (const name of SYSTEM_DIRS) {
    const host = `/${name}`;
    let stat: ReturnType<typeof lstatSync>;
    try {
      stat = lstatSync(host);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(host), host);
    else if (stat.isDirectory()) args.push('--ro-bind', host, host);
  }
  return args;
}

/**
 * The launcher runs inside the sandbox: it sets the rlimits (hard and soft, so the program cannot
 * raise them), says it is ready, reads the program up to a NUL byte from stdin and replaces itself
 * with bash running it. Whatever follows the NUL is the program's own stdin.
 */
function launcher(limits: SandboxLimits, limitMemoryByRlimit: boolean): string {
  const ulimits = [
    'ulimit -HS -c 0',
    `ulimit -HS -t ${Math.max(1, Math.ceil(limits.cpu_seconds))}`,
    `ulimit -HS -n ${limits.max_open_files}`,
    `ulimit -HS -u ${limits.max_processes}`,
  ];
  if (limitMemoryByRlimit) ulimits.push(`ulimit -HS -v ${Math.floor(limits.memory_bytes / 1024)}`);
  return `${ulimits.join(' && ')} || exit 125; printf R; IFS= read -r -d '' p; eval "$p"`;
}

/**
 * A host path shown read-only inside one sandbox at `sandbox`: an MCP server's files, or the tenant's
 * egress proxy socket (connecting to a Unix socket needs no write access to the mount it is on).
 */
export interface SandboxBind {
  host: string;
  sandbox: string;
}

/** Where a sandbox's shared host folder (see `BwrapBackendOptions.shareDir`) appears inside it, read-only. */
export const SHARED_MOUNT = '/run/agentry';

/**
 * bubblewrap's options and the command it runs: every namespace new, nothing of the host but read-only /usr, no capabilities.
 * `shared` is a host folder bound read-only at SHARED_MOUNT (files and Unix sockets put there by the host).
 */
export function bwrapArgs(
  limits: SandboxLimits,
  limitMemoryByRlimit: boolean,
  shared?: string,
  binds: readonly SandboxBind[] = [],
): { options: string[]; command: string[] } {
  const options = [
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    '--uid',
    String(SANDBOX_UID),
    '--gid',
    String(SANDBOX_GID),
    '--hostname',
    'sandbox',
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--clearenv',
    '--setenv',
    'PATH',
    '/usr/local/bin:/usr/bin:/bin',
    '--setenv',
    'HOME',
    '/workspace',
    '--setenv',
    'TMPDIR',
    '/tmp',
    '--setenv',
    'LANG',
    'C.UTF-8',
    '--ro-bind',
    '/usr',
    '/usr',
    ...systemDirArgs(),
    // Debian resolves awk, editor and the like through /etc/alternatives; nothing else of /etc is shown.
    ...(existsSync('/etc/alternatives') ? ['--ro-bind', '/etc/alternatives', '/etc/alternatives'] : []),
    ...(shared ? ['--ro-bind', shared, SHARED_MOUNT] : []),
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--size',
    String(limits.workspace_bytes),
    '--tmpfs',
    '/workspace',
    '--size',
    String(limits.workspace_bytes),
    '--tmpfs',
    '/tmp',
    // After the tmpfs mounts: a host path under /tmp (a checkout there) bound earlier would be hidden.
    ...binds.flatMap((b) => ['--ro-bind', b.host, b.sandbox]),
    // The root itself is a tmpfs bubblewrap made; read-only, so only the sized mounts take writes.
    '--remount-ro',
    '/',
    '--chdir',
    '/workspace',
    '--seccomp',
    String(SECCOMP_FD),
  ];
  const command = ['/bin/bash', '--noprofile', '--norc', '-c', launcher(limits, limitMemoryByRlimit)];
  return { options, command };
}
