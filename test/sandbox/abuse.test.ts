import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { after, afterEach, before, describe, it } from 'node:test';
import type { ExecuteResult } from '../../src/tools/sandbox/types.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { eventually, hostProcessesOf, MiB } from './host.ts';

// Abuse is about the sandbox, not the store: one real server on PGlite is enough.
describe('bwrap sandbox abuse (each attempt is blocked; host and server stay healthy)', () => {
  const secret = `agentry-secret-${randomBytes(8).toString('hex')}`;
  let server: TestServer;
  let port: number;
  let sentinel: ChildProcess;
  let shadowBefore: { mtimeMs: number; size: number };

  const run = (code: string, timeout_ms?: number): Promise<ExecuteResult> =>
    server.app.services.sandboxes.run('bash_execute', 'bwrap', { code, ...(timeout_ms && { timeout_ms }) });

  before(async () => {
    process.env.AGENTRY_SANDBOX_TEST_SECRET = secret;
    server = await startServer('pglite', {
      sandbox: {
        limits: {
          timeout_ms: 4_000,
          memory_bytes: 128 * MiB,
          max_processes: 32,
          workspace_bytes: 8 * MiB,
          max_output_bytes: 256 * 1024,
        },
        pools: { bwrap: { size: 1 }, quickjs: { size: 1 } },
      },
    });
    port = Number(new URL(server.url).port);
    // A host process the sandbox will try to see and kill.
    sentinel = spawn('sleep', ['600'], { stdio: 'ignore' });
    const shadow = statSync('/etc/shadow');
    shadowBefore = { mtimeMs: shadow.mtimeMs, size: shadow.size };
  });

  after(async () => {
    sentinel.kill('SIGKILL');
    delete process.env.AGENTRY_SANDBOX_TEST_SECRET;
    await server.close();
  });

  afterEach(async () => {
    const health = await server.request('GET', '/health');
    assert.equal(health.status, 200);
    const sandbox = (health.body as { components: Record<string, { status: string }> }).components.sandbox;
    assert.equal(sandbox?.status, 'ok');
    assert.equal(sentinel.exitCode, null, 'the host sentinel process is still alive');
    assert.doesNotThrow(() => process.kill(sentinel.pid!, 0));
    const shadow = statSync('/etc/shadow');
    assert.deepEqual({ mtimeMs: shadow.mtimeMs, size: shadow.size }, shadowBefore);
    // A sandbox that is done leaves no process behind: only the warm pool's ready ones remain.
    const stats = server.app.services.sandboxes.stats('bwrap');
    await eventually(
      () => server.app.services.sandboxes.stats('bwrap').busy === 0,
      `sandboxes still busy: ${JSON.stringify(stats)}`,
    );
  });

  it('cannot read /etc/shadow', async () => {
    const r = await run('cat /etc/shadow');
    assert.notEqual(r.exit_code, 0);
    assert.doesNotMatch(r.stdout, /root:/);
  });

  it('cannot list /root', async () => {
    const r = await run('ls -la /root');
    assert.notEqual(r.exit_code, 0);
    assert.equal(r.stdout, '');
  });

  it("cannot read the host's /proc/1/environ", async () => {
    const r = await run('cat /proc/1/environ; echo; cat /proc/1/cmdline');
    assert.doesNotMatch(r.stdout, new RegExp(secret));
    assert.doesNotMatch(r.stdout, /AGENTRY_SANDBOX_TEST_SECRET|PATH=\/root/);
  });

  it('cannot see host processes', async () => {
    const r = await run(
      `ls /proc | grep -E '^[0-9]+$' | wc -l; cat /proc/[0-9]*/cmdline | tr '\\0' ' '; test -e /proc/${sentinel.pid} && echo "VIS""IBLE"`,
    );
    const count = Number(r.stdout.split('\n')[0]);
    assert.ok(count > 0 && count < 10, `only the sandbox's own processes are visible, saw ${count}`);
    assert.doesNotMatch(r.stdout, /sleep 600|VISIBLE|node /);
  });

  it('cannot write to /usr or remount it', async () => {
    const r = await run(
      'touch /usr/pwned; echo "touch=$?"; mount -o remount,rw /usr; echo "mount=$?"; touch /usr/bin/pwned; echo "again=$?"',
    );
    assert.match(r.stdout, /touch=1/);
    assert.match(r.stdout, /mount=(1|32)/);
    assert.match(r.stdout, /again=1/);
    assert.throws(() => statSync('/usr/pwned'));
  });

  it('cannot mknod a device', async () => {
    const r = await run('mknod /workspace/mem c 1 1; echo "rc=$?"; mknod /tmp/null c 1 3; echo "rc=$?"');
    assert.doesNotMatch(r.stdout, /rc=0/);
  });

  it('cannot read /dev/mem or /dev/kmsg', async () => {
    const r = await run(
      'head -c 16 /dev/mem > /dev/null; echo "mem=$?"; head -c 16 /dev/kmsg; echo "kmsg=$?"; ls /dev',
    );
    assert.match(r.stdout, /mem=1/);
    assert.match(r.stdout, /kmsg=1/);
    assert.doesNotMatch(r.stdout, /^(mem|kmsg|sda|vda)$/m);
  });

  it('cannot create a nested user namespace', async () => {
    const r = await run(
      'unshare --user --map-root-user id; echo "rc=$?"; python3 -c "import os; os.unshare(os.CLONE_NEWUSER)"; echo "py=$?"; cat /proc/sys/user/max_user_namespaces',
    );
    assert.match(r.stdout, /rc=1/);
    assert.match(r.stdout, /py=1/);
    assert.doesNotMatch(r.stdout, /uid=0/);
  });

  it('cannot ptrace', async () => {
    const r = await run(
      `python3 -c "
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
pid = os.fork()
if pid == 0:
    import time; time.sleep(2); os._exit(0)
rc = libc.ptrace(16, pid, 0, 0)  # PTRACE_ATTACH
print('attach', rc, ctypes.get_errno())
rc = libc.ptrace(0, 0, 0, 0)  # PTRACE_TRACEME
print('traceme', rc, ctypes.get_errno())
"`,
    );
    assert.match(r.stdout, /attach -1 1\n/);
    assert.match(r.stdout, /traceme -1 1\n/);
  });

  it('cannot kill a host process', async () => {
    const r = await run(`kill -9 ${sentinel.pid}; echo "rc=$?"; kill -9 -1; echo "all=$?"`);
    assert.match(r.stdout, /rc=1/);
    assert.equal(sentinel.exitCode, null);
  });

  it('has no TCP egress', async () => {
    const r = await run(
      `python3 -c "
import socket
try:
    socket.create_connection(('1.1.1.1', 80), timeout=2); print('CONNECTED')
except OSError as e: print('blocked', e.errno)
"; ip addr 2>/dev/null; cat /proc/net/dev`,
    );
    assert.match(r.stdout, /blocked 1\n/);
    assert.doesNotMatch(r.stdout, /CONNECTED|eth0/);
  });

  it('cannot resolve DNS', async () => {
    const r = await run('getent hosts example.com; echo "rc=$?"; cat /etc/resolv.conf');
    assert.match(r.stdout, /rc=2/);
    assert.doesNotMatch(r.stdout, /\d+\.\d+\.\d+\.\d+/);
  });

  it('cannot open /dev/tcp', async () => {
    const r = await run('echo hi > /dev/tcp/1.1.1.1/80; echo "rc=$?"');
    assert.match(r.stdout, /rc=1/);
    assert.match(r.stderr, /Operation not permitted/);
  });

  it("cannot connect to the Agentry port on the host's 127.0.0.1", async () => {
    const r = await run(
      `exec 3<>/dev/tcp/127.0.0.1/${port}; echo "bash=$?"; python3 -c "
import socket
try:
    socket.create_connection(('127.0.0.1', ${port}), timeout=2); print('CONNECTED')
except OSError as e: print('blocked', e.errno)
"`,
    );
    assert.match(r.stdout, /bash=1/);
    assert.match(r.stdout, /blocked 1\n/);
  });

  it("cannot connect to PostgreSQL on the host's 127.0.0.1:5432", async () => {
    const r = await run(
      `exec 3<>/dev/tcp/127.0.0.1/5432; echo "bash=$?"; python3 -c "
import socket
for family, addr in ((socket.AF_INET, ('127.0.0.1', 5432)), (socket.AF_INET6, ('::1', 5432))):
    try:
        s = socket.socket(family); s.settimeout(2); s.connect(addr); print('CONNECTED')
    except OSError as e: print('blocked', e.errno)
"`,
    );
    assert.match(r.stdout, /bash=1/);
    assert.match(r.stdout, /blocked 1\nblocked 1\n/);
  });

  it('survives a 1 GiB memory bomb (killed at the memory limit)', async () => {
    const r = await run(`python3 -c "b = bytearray(b'x') * (1 << 30); print('ALLOCATED', len(b))"`);
    assert.doesNotMatch(r.stdout, /ALLOCATED/);
    assert.notEqual(r.exit_code, 0);
  });

  it('survives a fork bomb (process limit, then everything is killed)', async () => {
    const before = hostProcessesOf(65534).length;
    const r = await run(':(){ :|:& };:; sleep 1; echo done', 2_000);
    // The pids limit stops the bomb: forks fail inside, the sandbox's own shell goes on.
    assert.match(r.stderr, /fork|Resource temporarily unavailable/);
    await eventually(
      () => hostProcessesOf(65534).length <= before,
      'processes of the fork bomb are left on the host',
    );
  });

  it('cannot fill more than its tmpfs workspace', async () => {
    const r = await run(
      'head -c 64M /dev/zero > /workspace/big; echo "rc=$?"; du -k /workspace/big; mkdir /outside; echo "root=$?"',
    );
    assert.match(r.stdout, /rc=1/);
    assert.match(r.stderr, /No space left on device/);
    const kib = Number(/^(\d+)\s/m.exec(r.stdout)?.[1]);
    assert.ok(kib <= 8 * 1024, `the file stopped at the 8 MiB workspace size, got ${kib} KiB`);
    assert.match(r.stdout, /root=1/);
  });

  it('an infinite loop with no timeout given is stopped by the configured limit', async () => {
    const r = await run('while :; do :; done');
    assert.equal(r.timed_out, true);
    assert.equal(r.killed, 'timeout');
    assert.equal(r.exit_code, null);
  });

  it('10 MB of stdout is cut at the output limit with a marker', async () => {
    const r = await run("head -c 10000000 /dev/zero | tr '\\0' a; echo END");
    assert.equal(r.truncated, true);
    assert.equal(r.killed, 'output_limit');
    assert.match(r.stdout, /\[output truncated at 262144 bytes\]$/);
    assert.ok(r.stdout.length < 262144 + 100);
    assert.doesNotMatch(r.stdout, /END/);
  });

  it("does not see a secret from the server's environment", async () => {
    assert.equal(process.env.AGENTRY_SANDBOX_TEST_SECRET, secret);
    const r = await run('env; cat /proc/*/environ 2>/dev/null | tr "\\0" "\\n"');
    assert.doesNotMatch(r.stdout, new RegExp(secret));
    assert.doesNotMatch(r.stdout, /AGENTRY_|DATABASE_URL/);
    assert.match(r.stdout, /^PATH=/m);
  });

  it('cannot inject terminal input with TIOCSTI', async () => {
    const r = await run(
      `python3 -c "
import fcntl, os, pty, termios
master, slave = pty.openpty()
try:
    fcntl.ioctl(slave, termios.TIOCSTI, b'x'); print('INJECTED')
except OSError as e: print('blocked', e.errno)
"`,
    );
    assert.match(r.stdout, /blocked 1\n/);
  });

  it('a workspace symlink to a host path reaches nothing of the host', async () => {
    const r = await run(
      'ln -s /etc/shadow /workspace/shadow; cat /workspace/shadow; echo "shadow=$?"; ln -s /root /workspace/root; ls /workspace/root/; echo "root=$?"; ln -s /proc/1/root /workspace/r1; ls /workspace/r1/etc; echo "r1=$?"',
    );
    assert.match(r.stdout, /shadow=1/);
    assert.match(r.stdout, /root=2/);
    assert.doesNotMatch(r.stdout, /root:|passwd|hostname/);
    assert.match(readFileSync('/etc/hostname', 'utf8'), /\S/);
  });

  it('runs with NoNewPrivs = 1, no capabilities and a seccomp filter, as an unprivileged uid', async () => {
    const r = await run(
      'grep -E "^(NoNewPrivs|Seccomp|CapEff|CapPrm|CapBnd):" /proc/self/status; id -u; id -g',
    );
    assert.match(r.stdout, /^NoNewPrivs:\t1$/m);
    assert.match(r.stdout, /^Seccomp:\t2$/m);
    assert.match(r.stdout, /^CapEff:\t0000000000000000$/m);
    assert.match(r.stdout, /^CapPrm:\t0000000000000000$/m);
    assert.match(r.stdout, /^CapBnd:\t0000000000000000$/m);
    assert.match(r.stdout, /^65534\n65534\n$/m);
  });
});
