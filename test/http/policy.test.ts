import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { agentryArgv, cleanEnv } from '../cli/run-cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { freshDatabase, startServer, stores, type TestServer } from '../helpers/server.ts';

const firstPolicy = [
  'defaults:', //                                  1
  '  models:', //                                  2
  '    deny: ["openai/*"]', //                     3
  'tenants:', //                                   4
  '  default:', //                                 5
  '    fail_open: false', //                       6
  '    budgets:', //                               7
  '      agents:', //                              8
  '        writer: { tokens_per_day: 1000 }', //   9
  '    models:', //                                10
  '      allow: ["mock/*"]', //                    11
  '',
].join('\n');

for (const store of stores) {
  describe(`GET /v1/policy on ${store}`, () => {
    let s: TestServer;
    let dir = '';
    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'agentry-policy-'));
      const file = path.join(dir, 'tenants.yaml');
      writeFileSync(file, firstPolicy);
      s = await startServer(store, { tenants_file: file });
    });
    after(async () => {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('needs credentials, and the read scope is enough', async () => {
      const anonymous = await s.request('GET', '/v1/policy', { key: null });
      assert.equal(anonymous.status, 401);
      const { body: reader } = await s.request('POST', '/v1/keys', { body: { scopes: ['read'] } });
      const res = await s.request('GET', '/v1/policy', { key: reader.secret });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.tenant.name, 'default');
    });

    it("answers the caller tenant's own policy, and only its own", async () => {
      const own = await s.request('GET', '/v1/policy');
      assert.equal(own.body.source, 'tenant');
      assert.equal(own.body.tenant.id, s.app.defaultTenantId);
      assert.equal(own.body.policy.fail_open, false);
      assert.deepEqual(own.body.policy.budgets.agents, { writer: { tokens_per_day: 1000 } });
      assert.deepEqual(own.body.policy.models, { allow: ['mock/*'], deny: [] });
      assert.match(own.body.loaded_at, /^\d{4}-\d{2}-\d{2}T.*Z$/);

      const created = await s.request('POST', '/v1/tenants', { body: { name: 'globex' } });
      assert.equal(created.status, 201, created.text);
      const other = await s.request('GET', '/v1/policy', { key: created.body.admin_key.secret });
      assert.equal(other.status, 200);
      assert.deepEqual(other.body.tenant, { id: created.body.tenant.id, name: 'globex' });
      assert.equal(other.body.source, 'defaults');
      assert.deepEqual(other.body.policy.models, { deny: ['openai/*'] });
      assert.deepEqual(other.body.policy.budgets.agents, {});
    });
  });
}

/** A real `agentry serve` process, as an operator runs it. */
class ServeProcess {
  stdout = '';
  stderr = '';
  url = '';
  key = '';
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;

  constructor(cwd: string, args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, agentryArgv(['serve', '--port', '0', ...args]), {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d) => {
      this.stdout += d;
    });
    this.child.stderr!.on('data', (d) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** Resolves once the server prints its URL; fails if the process exits first. */
  async started(cwd: string): Promise<void> {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const m = /agentry listening on (\S+)/.exec(this.stderr);
      if (m) {
        this.url = m[1]!;
        this.key = JSON.parse(readFileSync(path.join(cwd, '.agentry', 'credentials.json'), 'utf8')).api_key;
        return;
      }
      if (this.child.exitCode !== null) break;
      await sleep(50);
    }
    assert.fail(`serve did not start:\n${this.stderr}\n${this.stdout}`);
  }

  signal(name: NodeJS.Signals) {
    this.child.kill(name);
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }

  /** JSON log lines printed so far. */
  logs(): Array<Record<string, unknown>> {
    return this.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
  }

  async get(pathname: string) {
    const res = await fetch(`${this.url}${pathname}`, { headers: { authorization: `Bearer ${this.key}` } });
    // biome-ignore lint/suspicious/noExplicitAny: the test reads arbitrary JSON
    return { status: res.status, body: (await res.json()) as any };
  }
}

for (const store of stores) {
  describe(`agentry serve reloads tenants.yaml on SIGHUP (${store})`, () => {
    let cwd = '';
    let server: ServeProcess;
    let drop = async () => {};
    before(async () => {
      cwd = mkdtempSync(path.join(tmpdir(), 'agentry-sighup-'));
      writeFileSync(path.join(cwd, 'tenants.yaml'), firstPolicy);
      const env = cleanEnv({ AGENTRY_BODY_LIMIT: '2048', AGENTRY_LOG_LEVEL: 'info' });
      const args: string[] = [];
      if (store === 'postgres') {
        const db = await freshDatabase();
        drop = db.drop;
        env.DATABASE_URL = db.url;
      } else {
        args.push('--data-dir', path.join(cwd, 'data'));
      }
      server = new ServeProcess(cwd, args, env);
      await server.started(cwd);
    });
    after(async () => {
      await server.stop();
      await drop();
      rmSync(cwd, { recursive: true, force: true });
    });

    it('serves the policy read from ./tenants.yaml at start, and the env body limit', async () => {
      const res = await server.get('/v1/policy');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.policy.fail_open, false);
      assert.deepEqual(res.body.policy.budgets.agents, { writer: { tokens_per_day: 1000 } });

      const big = await fetch(`${server.url}/v1/agents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'big', description: 'x'.repeat(3000) }),
      });
      assert.equal(big.status, 413);
      assert.match(((await big.json()) as { error: { message: string } }).error.message, /2048 bytes/);
    });

    it('applies an edited file after SIGHUP, without a restart', async () => {
      const prev = await server.get('/v1/policy');
      writeFileSync(
        path.join(cwd, 'tenants.yaml'),
        firstPolicy
          .replace('fail_open: false', 'fail_open: true')
          .replace('tokens_per_day: 1000', 'tokens_per_day: 5000')
          .replace('allow: ["mock/*"]', 'allow: ["mock/*"]\n      deny: ["mock/expensive*"]'),
      );
      server.signal('SIGHUP');
      const next = await eventually(
        async () => {
          const res = await server.get('/v1/policy');
          return res.body.loaded_at !== prev.body.loaded_at ? res : undefined;
        },
        30_000,
        'the reload',
      );
      assert.equal(next.body.policy.fail_open, true);
      assert.deepEqual(next.body.policy.budgets.agents, { writer: { tokens_per_day: 5000 } });
      assert.deepEqual(next.body.policy.models.deny, ['mock/expensive*']);
      // The log line travels through a pipe: it may arrive just after the answer.
      await eventually(
        async () => server.logs().find((l) => l.msg === 'SIGHUP: tenant policies reloaded'),
        30_000,
        'the reload log line',
      );
      assert.equal(server.stderr.match(/agentry listening on/g)?.length, 1, server.stderr);
    });

    it('keeps the policy in force when the new file is invalid, and logs where the mistake is', async () => {
      const prev = await server.get('/v1/policy');
      const file = path.join(cwd, 'tenants.yaml');
      writeFileSync(file, firstPolicy.replace('fail_open: false', 'fail_open: perhaps'));
      server.signal('SIGHUP');
      const logged = await eventually(
        async () => server.logs().find((l) => String(l.msg).endsWith('the previous policies stay in force')),
        30_000,
        'the error line',
      );
      assert.equal(logged.level, 50);
      const err = logged.err as { message: string };
      assert.match(
        err.message,
        /tenants\.yaml:6:16: tenants\.default\.fail_open: Invalid input: expected boolean/,
      );
      const now = await server.get('/v1/policy');
      assert.equal(now.body.loaded_at, prev.body.loaded_at);
      assert.deepEqual(now.body.policy, prev.body.policy);
      assert.equal(now.body.policy.fail_open, true);
    });

    it('still shuts down cleanly on SIGTERM', async () => {
      assert.equal(await server.stop(), 0);
    });
  });
}

describe('agentry serve picks up a ./tenants.yaml created after start on SIGHUP', () => {
  let cwd = '';
  let server: ServeProcess;
  before(async () => {
    cwd = mkdtempSync(path.join(tmpdir(), 'agentry-sighup-late-'));
    const env = cleanEnv({ AGENTRY_LOG_LEVEL: 'info' });
    server = new ServeProcess(cwd, ['--data-dir', path.join(cwd, 'data')], env);
    await server.started(cwd);
  });
  after(async () => {
    await server.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('says there is nothing to reload while the file does not exist', async () => {
    const prev = await server.get('/v1/policy');
    assert.equal(prev.body.source, 'builtin');
    server.signal('SIGHUP');
    await eventually(
      async () => server.logs().find((l) => String(l.msg).endsWith('does not exist; nothing to reload')),
      30_000,
      'the nothing-to-reload line',
    );
    assert.equal((await server.get('/v1/policy')).body.loaded_at, prev.body.loaded_at);
  });

  it('reads the file once it exists, and keeps reading it on later SIGHUPs', async () => {
    const prev = await server.get('/v1/policy');
    writeFileSync(path.join(cwd, 'tenants.yaml'), firstPolicy);
    server.signal('SIGHUP');
    const next = await eventually(
      async () => {
        const res = await server.get('/v1/policy');
        return res.body.loaded_at !== prev.body.loaded_at ? res : undefined;
      },
      30_000,
      'the reload',
    );
    assert.equal(next.body.source, 'tenant');
    assert.deepEqual(next.body.policy.budgets.agents, { writer: { tokens_per_day: 1000 } });
    const logged = await eventually(
      async () => server.logs().find((l) => l.msg === 'SIGHUP: tenant policies reloaded'),
      30_000,
      'the reload log line',
    );
    assert.equal(logged.file, path.join(cwd, 'tenants.yaml'));

    writeFileSync(
      path.join(cwd, 'tenants.yaml'),
      firstPolicy.replace('tokens_per_day: 1000', 'tokens_per_day: 7'),
    );
    server.signal('SIGHUP');
    const again = await eventually(
      async () => {
        const res = await server.get('/v1/policy');
        return res.body.loaded_at !== next.body.loaded_at ? res : undefined;
      },
      30_000,
      'the second reload',
    );
    assert.deepEqual(again.body.policy.budgets.agents, { writer: { tokens_per_day: 7 } });
  });
});
