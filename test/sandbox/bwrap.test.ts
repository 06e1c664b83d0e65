import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BwrapBackend } from '../../src/tools/sandbox/bwrap.ts';
import { detectCgroups } from '../../src/tools/sandbox/cgroup.ts';
import { compileSeccompFilter } from '../../src/tools/sandbox/seccomp.ts';
import { type SandboxLimits, SandboxUnavailableError } from '../../src/tools/sandbox/types.ts';
import { MiB } from './host.ts';

const limits: SandboxLimits = {
  timeout_ms: 5_000,
  cpu_seconds: 10,
  cpu_quota: 1,
  memory_bytes: 128 * MiB,
  max_processes: 32,
  max_open_files: 128,
  workspace_bytes: 4 * MiB,
  max_output_bytes: 64 * 1024,
};

/** This process's sandbox cgroups, in whichever hierarchy they live. */
function ownSandboxGroups(): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 4 || !existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      if (e.name.startsWith(`agentry-sbx-${process.pid}-`)) found.push(`${dir}/${e.name}`);
      else walk(`${dir}/${e.name}`, depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  return found;
}

describe('bwrap backend', () => {
  const backend = new BwrapBackend({ limits, cgroups: detectCgroups() });
  before(() => backend.start());
  after(() => backend.stop());

  const run = async (
    code: string,
    extra: { stdin?: string; timeout_ms?: number; signal?: AbortSignal } = {},
  ) => {
    const sandbox = await backend.acquire();
    try {
      return await backend.execute(sandbox, { code, ...extra });
    } finally {
      await backend.release(sandbox);
    }
  };

  it('runs a script with stdin, returning stdout, stderr and the exit status', async () => {
    const r = await run('read line; echo "got $line"; echo oops >&2; exit 7', { stdin: 'hello\n' });
    assert.equal(r.exit_code, 7);
    assert.equal(r.stdout, 'got hello\n');
    assert.equal(r.stderr, 'oops\n');
    assert.equal(r.timed_out, false);
  });

  it('starts every sandbox with an empty workspace: nothing survives from the previous one', async () => {
    await run('echo secret > /workspace/left-behind');
    const r = await run('ls -A /workspace; ls -A /tmp');
    assert.equal(r.stdout, '');
  });

  it('runs Node inside (clone3 answers ENOSYS, so child processes still work)', async () => {
    const r = await run(
      `node -e "console.log(require('child_process').execFileSync('echo', ['child ok']).toString().trim())"`,
    );
    assert.equal(r.stdout, 'child ok\n');
    assert.equal(r.exit_code, 0);
  });

  it('a per-call timeout shorter than the limit kills the sandbox', async () => {
    const r = await run('sleep 30', { timeout_ms: 300 });
    assert.equal(r.killed, 'timeout');
    assert.equal(r.exit_code, null);
  });

  it('cancelling the call kills the sandbox', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const r = await run('sleep 30', { signal: controller.signal });
    assert.equal(r.killed, 'cancelled');
  });

  it('a background process cannot outlive its sandbox', async () => {
    const r = await run('(sleep 60 &) ; echo started');
    assert.equal(r.stdout, 'started\n');
    assert.deepEqual(ownSandboxGroups(), [], 'every sandbox control group is removed');
  });

  it("shows its processes nothing of the server's environment, working directory or host paths", async () => {
    // A host folder bound in, as an MCP server's files are: its host path must not show inside.
    const hostDir = mkdtempSync(path.join(tmpdir(), 'agentry-bound-host-'));
    const sandbox = await backend.acquire({ binds: [{ host: hostDir, sandbox: '/srv/tool' }] });
    try {
      const r = await backend.execute(sandbox, {
        code: 'for p in /proc/[0-9]*; do echo "== $p"; tr "\\0" " " < $p/cmdline; echo; tr "\\0" " " < $p/environ; echo; done; echo "init-env=$(wc -c < /proc/1/environ)"',
      });
      assert.equal(r.exit_code, 0, r.stderr);
      assert.match(r.stdout, /^== \/proc\/1$/m, 'pid 1 (the sandbox init) is listed');
      assert.ok(!r.stdout.includes(process.cwd()), `the server's working directory shows:\n${r.stdout}`);
      assert.ok(!r.stdout.includes(hostDir), `a bound host path shows:\n${r.stdout}`);
      assert.doesNotMatch(r.stdout, /--ro-bind|--seccomp|--uid/, "bubblewrap's options are not shown");
      assert.match(r.stdout, /init-env=0$/m, 'the init process has an empty environment');
    } finally {
      await backend.release(sandbox);
      rmSync(hostDir, { recursive: true, force: true });
    }
  });

  it(`reports its limit mode (${detectCgroups().mode}) and layers`, () => {
    const d = backend.describe();
    assert.match(String(d.bubblewrap), /bubblewrap \d/);
    assert.deepEqual(d.namespaces, ['user', 'pid', 'net', 'ipc', 'uts', 'cgroup', 'mount']);
    assert.equal(d.limits, detectCgroups().mode);
  });

  it('fails closed when bubblewrap is missing, naming the package to install', async () => {
    const missing = new BwrapBackend({ limits, cgroups: detectCgroups(), bwrapPath: '/nonexistent/bwrap' });
    await assert.rejects(missing.start(), (err: Error) => {
      assert.ok(err instanceof SandboxUnavailableError);
      assert.match(err.message, /bubblewrap \(bwrap\) is not installed: .*apt-get install -y bubblewrap/);
      return true;
    });
    await assert.rejects(missing.acquire(), SandboxUnavailableError);
  });

  it('the seccomp program is whole sock_filter records', () => {
    const program = compileSeccompFilter('x64');
    assert.equal(program.length % 8, 0);
    assert.throws(() => compileSeccompFilter('arm64'), /written for x86_64/);
  });
});

describe('bwrap backend with rlimits only (no cgroup access)', () => {
  const backend = new BwrapBackend({ limits, cgroups: detectCgroups('rlimits') });
  before(() => backend.start());
  after(() => backend.stop());

  const run = async (code: string) => {
    const sandbox = await backend.acquire();
    try {
      return await backend.execute(sandbox, { code });
    } finally {
      await backend.release(sandbox);
    }
  };

  it('caps memory with the address-space limit', async () => {
    const r = await run(`python3 -c "b = bytearray(b'x') * (1 << 30); print('ALLOCATED')"`);
    assert.doesNotMatch(r.stdout, /ALLOCATED/);
    assert.match(r.stderr, /MemoryError/);
  });

  it('caps processes with RLIMIT_NPROC, counted per sandbox', async () => {
    const r = await run(`python3 -c "
import os, time
n = 0
try:
    while n < 1000:
        if os.fork() == 0:
            time.sleep(2); os._exit(0)
        n += 1
except OSError as e:
    print(n, e.errno)
"`);
    const [forked, errno] = r.stdout.trim().split(' ').map(Number);
    assert.equal(errno, 11, 'fork fails with EAGAIN');
    const running = forked!;
    assert.ok(
      running > 0 && running < limits.max_processes,
      `at most ${limits.max_processes} processes, got ${running}`,
    );
  });
});
