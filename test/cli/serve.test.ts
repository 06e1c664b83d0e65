import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli, type Spawned, spawnCli, startServe, tempDir } from './run-cli.ts';

const secretPattern = /agk_[A-Za-z0-9]+_[A-Za-z0-9_-]+/g;

describe('agentry serve as a process, embedded store', { timeout: 600_000 }, () => {
  const tmp = tempDir('agentry-serve-');
  // agentry.yaml in the working directory is read by serve. A generous shutdown deadline keeps a
  // slow, busy machine from turning a graceful exit (code 0) into the forced one (code 1).
  writeFileSync(path.join(tmp.dir, 'agentry.yaml'), 'server:\n  shutdown_grace_seconds: 90\n');
  const running = new Set<Spawned>();
  after(async () => {
    await Promise.all([...running].map((p) => p.stop()));
    tmp.remove();
  });
  const credentialsFile = path.join(tmp.dir, '.agentry', 'credentials.json');
  let firstKey = '';
  let agentId = '';

  it('first start prints the admin key once and writes it for the CLI with mode 0600', async () => {
    const server = await startServe([], { cwd: tmp.dir });
    running.add(server);
    const secrets = server.stderr().match(secretPattern) ?? [];
    assert.equal(secrets.length, 1, `exactly one key printed:\n${server.stderr()}`);
    firstKey = secrets[0]!;
    assert.match(server.stderr(), /shown only this once/);
    assert.ok(existsSync(path.join(tmp.dir, '.agentry', 'data')), 'PGlite data dir in ./.agentry/data');

    assert.equal(statSync(credentialsFile).mode & 0o777, 0o600);
    const stored = JSON.parse(readFileSync(credentialsFile, 'utf8'));
    assert.deepEqual(stored, { url: server.url, api_key: firstKey, tenant: 'default' });

    // The CLI, run in the same directory with no flags, finds the server and the key by itself.
    const created = await runCli(['agents', 'create', '--name', 'survivor', '--json'], { cwd: tmp.dir });
    assert.equal(created.code, 0, created.stderr);
    agentId = JSON.parse(created.stdout).id;

    assert.equal(await server.stop(), 0, `graceful exit:\n${server.stderr()}`);
    running.delete(server);
  });

  it('a second start on the same data dir prints no key and keeps the data and the credentials', async () => {
    const before = readFileSync(credentialsFile, 'utf8');
    const server = await startServe([], { cwd: tmp.dir });
    running.add(server);
    assert.doesNotMatch(server.stderr(), secretPattern);
    assert.doesNotMatch(server.stderr(), /First start/);
    const now = JSON.parse(readFileSync(credentialsFile, 'utf8'));
    assert.equal(now.api_key, JSON.parse(before).api_key, 'the saved key is kept');
    assert.equal(now.url, server.url, 'the saved URL follows the new port');
    assert.equal(statSync(credentialsFile).mode & 0o777, 0o600);

    const got = await runCli(['agents', 'get', 'survivor', '--json', '--url', server.url], { cwd: tmp.dir });
    assert.equal(got.code, 0, got.stderr);
    assert.equal(JSON.parse(got.stdout).id, agentId);

    assert.equal(await server.stop(), 0, server.stderr());
    running.delete(server);
  });

  it('--data-dir and AGENTRY_CREDENTIALS_FILE put the store and the key where asked', async () => {
    const dataDir = path.join(tmp.dir, 'elsewhere', 'data');
    const credentials = path.join(tmp.dir, 'elsewhere', 'creds.json');
    const server = await startServe(['--data-dir', dataDir], {
      cwd: tmp.dir,
      env: { AGENTRY_CREDENTIALS_FILE: credentials },
    });
    running.add(server);
    const key = server.stderr().match(secretPattern)?.[0];
    assert.ok(key, 'a new data dir is a first start');
    assert.notEqual(key, firstKey);
    assert.ok(readdirSync(dataDir).length > 0);
    assert.equal(statSync(credentials).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(credentials, 'utf8')).api_key, key);
    assert.equal(await server.stop(), 0, server.stderr());
    running.delete(server);
  });
});

describe('agentry with PostgreSQL unreachable', { timeout: 120_000 }, () => {
  const tmp = tempDir('agentry-nopg-');
  const running = new Set<Spawned>();
  after(async () => {
    await Promise.all([...running].map((p) => p.stop()));
    tmp.remove();
  });
  // Port 1 on loopback: nothing listens there (and pg, unlike fetch, will try it).
  const env = { DATABASE_URL: 'postgres://agentry:s3cret-pw@127.0.0.1:1/agentry' };

  it('serve exits non-zero with a clear message and creates no embedded store', async () => {
    const server = spawnCli(['serve', '--port', '0'], { cwd: tmp.dir, env });
    running.add(server);
    const code = await server.exited;
    assert.notEqual(code, 0);
    assert.match(
      server.stderr(),
      /cannot reach PostgreSQL at postgres:\/\/agentry:\*\*\*@127\.0\.0\.1:1\/agentry/,
    );
    assert.match(server.stderr(), /DATABASE_URL/);
    assert.doesNotMatch(server.stderr(), /s3cret-pw/, 'the password is never printed');
    assert.doesNotMatch(server.stderr(), /listening/);
    assert.deepEqual(readdirSync(tmp.dir), [], 'no ./.agentry/data, no credentials: no silent fallback');
  });

  it('migrate fails the same way', async () => {
    const r = await runCli(['migrate'], { cwd: tmp.dir, env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^agentry: cannot reach PostgreSQL at /);
    assert.deepEqual(readdirSync(tmp.dir), []);
  });
});
