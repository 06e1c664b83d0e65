import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { agentryArgv } from '../cli/run-cli.ts';
import { freshDatabase, startServer, stores, type TestServer } from '../helpers/server.ts';
import { createAgent } from './helpers.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `agentry` binary in a child process. */
function agentry(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, agentryArgv(args), {
      env: { ...process.env, AGENTRY_LOG_LEVEL: 'silent', ...env },
      cwd: tmpdir(),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const ok = (r: Run) => {
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
};

for (const store of stores) {
  describe(`task CLI on ${store}`, () => {
    let s: TestServer;
    let dataDir: string;
    let database: { url: string; drop: () => Promise<void> } | undefined;
    let env: Record<string, string | undefined>;

    before(async () => {
      dataDir = mkdtempSync(path.join(tmpdir(), 'agentry-cli-'));
      // A store the run-once process can open after the server is gone (PGlite is single-process).
      if (store === 'postgres') database = await freshDatabase();
      s = await startServer(store, {
        tasks: { workers: 0 },
        store: database ? { database_url: database.url } : { data_dir: dataDir },
      });
      env = {
        AGENTRY_URL: s.url,
        AGENTRY_API_KEY: s.adminKey,
        AGENTRY_CREDENTIALS_FILE: path.join(dataDir, 'none'),
      };
    });
    after(async () => {
      await s.close().catch(() => {});
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    /** `create-task` of a `summarize` task. */
    const createTask = (agent: string, title: string, payload: string, ...flags: string[]) =>
      agentry(
        [
          'create-task',
          '--agent',
          agent,
          '--type',
          'summarize',
          '--title',
          title,
          '--payload',
          payload,
          ...flags,
        ],
        env,
      );

    it('creates, lists, shows, cancels tasks and reports queue status; run-once processes them', async () => {
      const agent = await createAgent(s, 'cli-agent');
      const created = ok(await createTask('cli-agent', 'From the CLI', '{"text":"abc"}', '--json'));
      const task = JSON.parse(created.stdout);
      assert.equal(task.status, 'pending');
      assert.equal(task.agent_id, agent.id);
      for (let i = 0; i < 2; i++) ok(await createTask(agent.id, `t${i}`, '{"text":"x"}'));
      const doomed = JSON.parse(ok(await createTask(agent.id, 'doomed', '{"text":"x"}', '--json')).stdout);
      const bad = await createTask(agent.id, 'x', '{}');
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /payload\.text/);

      const list = ok(await agentry(['tasks', 'list'], env));
      assert.match(list.stdout, /From the CLI/);
      assert.match(ok(await agentry(['tasks', 'get', task.id], env)).stdout, /status:\s+pending/);
      assert.match(ok(await agentry(['tasks', 'cancel', doomed.id], env)).stdout, /status:\s+cancelled/);
      const status = JSON.parse(ok(await agentry(['status', '--json'], env)).stdout);
      assert.equal(status.counts.pending, 3);
      assert.equal(status.counts.cancelled, 1);
      assert.ok(status.oldest_pending_age_seconds >= 0);

      const sched = await agentry(
        [
          'schedules',
          'create',
          '--name',
          'bad',
          '--cron',
          'nope',
          '--agent',
          agent.id,
          '--type',
          'summarize',
          '--title',
          'x',
        ],
        env,
      );
      assert.notEqual(sched.code, 0);
      assert.match(sched.stderr, /invalid cron expression "nope"/);

      // run-once talks to the store directly; with PGlite the server must let go of it first.
      if (store === 'pglite') await s.close();
      const storeEnv = database
        ? { DATABASE_URL: database.url }
        : { AGENTRY_DATA_DIR: dataDir, DATABASE_URL: undefined };
      const once = JSON.parse(
        ok(await agentry(['run-once', '--limit', '2', '--json'], { ...env, ...storeEnv })).stdout,
      );
      assert.equal(once.claimed, 2);
      assert.equal(once.completed + once.failed + once.retried, 2);
      const rest = JSON.parse(
        ok(await agentry(['run-once', '--limit', '5', '--json'], { ...env, ...storeEnv })).stdout,
      );
      assert.equal(rest.claimed, 1, 'only one runnable task was left');
    });
  });
}
