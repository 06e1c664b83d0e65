/**
 * What a private agent produced is as private as the agent: its runs, sessions, messages, traces,
 * run events and usage, its tasks, their events and their callback deliveries. Alice (a user of the tenant) talks to her private agent; Bob (another user
 * of the same tenant) asks every GET route of the route table (so a route added later is swept
 * too), with the run's, the session's and the agent's ids in its path and query, and never reads
 * what Alice said, the run or the session, nor the agent's name. The same sweep with Alice's key
 * finds them, and Bob still reads a run of an agent the tenant shares.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

const marker = 'marmalade-7731';
const agentName = 'Alice Vault Keeper';

/** A GET that reads at most 256 KiB and, for a stream, at most 1.5 s of it. */
function get(base: string, path: string, key: string): Promise<{ status: number; text: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: 'GET',
        path,
        headers: { authorization: `Bearer ${key}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          clearTimeout(timer);
          res.destroy();
          resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString() });
        };
        const timer = setTimeout(done, 1500);
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          size += c.length;
          if (size > 256 * 1024) done();
        });
        res.on('end', done);
        res.on('error', done);
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer to GET ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

for (const store of stores) {
  describe(`a private agent's output on ${store}`, () => {
    let s: TestServer;
    let alice: string;
    let bob: string;
    let agentId: string;
    let runId: string;
    let sessionId: string;
    let sharedRunId: string;
    let taskId: string;
    let paths: string[];

    before(async () => {
      s = await startServer(store, {
        compat: { isa: true, zahara: true, zora: true, soma: true, pagi: true },
      });
      const key = async (owner: string) => {
        const r = await s.request('POST', '/v1/keys', { body: { scopes: ['write'], owner } });
        assert.equal(r.status, 201, r.text);
        return r.body.secret as string;
      };
      alice = await key('user:alice');
      bob = await key('user:bob');
      const made = await s.request('POST', '/v1/agents', {
        key: alice,
        body: { name: agentName, visibility: 'private' },
      });
      assert.equal(made.status, 201, made.text);
      agentId = made.body.id;
      const chat = await s.request('POST', `/v1/agents/${agentId}/chat`, {
        key: alice,
        body: { message: `the vault code is ${marker}`, stream: false },
      });
      assert.equal(chat.status, 200, chat.text);
      runId = chat.body.run_id;
      sessionId = chat.body.session_id;

      const task = await s.request('POST', '/v1/tasks', {
        key: alice,
        body: {
          agent_id: agentId,
          task_type: 'default',
          title: `keep ${marker}`,
          idempotency_key: 'alice-vault-task',
        },
      });
      assert.equal(task.status, 202, task.text);
      taskId = task.body.id;

      const shared = await s.request('POST', '/v1/agents', { key: alice, body: { name: 'Team Desk' } });
      const sharedChat = await s.request('POST', `/v1/agents/${shared.body.id}/chat`, {
        key: alice,
        body: { message: 'hello team', stream: false },
      });
      assert.equal(sharedChat.status, 200, sharedChat.text);
      sharedRunId = sharedChat.body.run_id;

      // Every GET route, each path parameter in turn the run's, the session's and the agent's id.
      const urls = new Set<string>();
      for (const route of s.app.http.routeTable) {
        if (![route.method].flat().includes('GET') || !route.url.startsWith('/')) continue;
        if (/^\/(docs|assets|health|metrics)/.test(route.url)) continue;
        urls.add(route.url);
      }
      const queries = [
        '',
        `?agent_id=${agentId}`,
        `?session_id=${sessionId}`,
        `?agent=${encodeURIComponent(agentName)}`,
        '?by=agent',
        '?limit=100',
      ];
      // A list route with each filter; a route of one object by each id.
      paths = [...urls].flatMap((url) =>
        url.includes(':')
          ? [runId, sessionId, agentId, taskId].map((id) =>
              url.replace(/:type\b/g, 'bwrap').replace(/:[A-Za-z_]+/g, id),
            )
          : queries.map((q) => url + q),
      );
    });
    after(() => s.close());

    it('sweeps the routes that return runs, sessions, messages, traces, events and usage', () => {
      for (const route of [
        '/v1/runs',
        '/v1/runs/:id',
        '/v1/runs/:id/trace',
        '/v1/runs/:id/stream',
        '/v1/sessions',
        '/v1/sessions/:id',
        '/v1/sessions/:id/messages',
        '/v1/usage',
        '/v1/usage/series',
        '/v1/usage/budgets',
        '/v1/tasks',
        '/v1/tasks/:id',
        '/v1/tasks/:id/events',
        '/v1/tasks/:id/callbacks',
        '/api/agents/tasks',
      ]) {
        assert.ok(
          paths.some(
            (p) =>
              p.startsWith(route.replace(':id', runId)) ||
              p.startsWith(route.replace(':id', sessionId)) ||
              p.startsWith(route.replace(':id', taskId)),
          ),
          `${route} is swept`,
        );
      }
    });

    it("shows Alice her agent's output through the same sweep", async () => {
      const found = new Set<string>();
      for (const path of paths) {
        const res = await get(s.url, path, alice);
        if (res.status < 300 && res.text.includes(marker)) found.add(path.replace(/\?.*/, ''));
      }
      for (const path of [
        `/v1/runs/${runId}`,
        `/v1/runs/${runId}/trace`,
        `/v1/sessions/${sessionId}/messages`,
        `/v1/tasks/${taskId}`,
        `/api/agents/tasks/${taskId}`,
      ])
        assert.ok(found.has(path), `${path} shows Alice her message: ${[...found].join(', ')}`);
    });

    it('shows Bob nothing of it on any GET route, by any of its ids or its name', async () => {
      const leaks: string[] = [];
      for (const path of paths) {
        const res = await get(s.url, path, bob);
        assert.ok(res.status < 500, `${path}: ${res.status} ${res.text.slice(0, 200)}`);
        if (res.text.includes(marker)) leaks.push(`${path} (${res.status}): what Alice said`);
        if (res.status >= 300) continue;
        // A 404 names what was asked for; an answer names nothing of Alice's.
        const named: Array<[string, string]> = [
          ['the run', runId],
          ['the session', sessionId],
          ['the agent', agentName],
          ['the task', taskId],
        ];
        for (const [what, text] of named)
          if (res.text.includes(text)) leaks.push(`${path} (${res.status}): ${what}`);
      }
      assert.deepEqual(leaks, []);
    });

    it('answers 404 to Bob for the run, its trace, stream and session, and to acting on the run', async () => {
      for (const path of [
        `/v1/runs/${runId}`,
        `/v1/runs/${runId}/trace`,
        `/v1/runs/${runId}/stream`,
        `/v1/sessions/${sessionId}`,
        `/v1/sessions/${sessionId}/messages`,
        `/v1/runs?agent_id=${agentId}`,
        `/v1/sessions?agent_id=${agentId}`,
      ])
        assert.equal((await get(s.url, path, bob)).status, 404, path);
      for (const action of ['cancel', 'approve', 'deny', 'resume']) {
        const res = await s.request('POST', `/v1/runs/${runId}/${action}`, { key: bob, body: {} });
        assert.equal(res.status, 404, `${action}: ${res.text}`);
      }
      const search = await s.request('POST', '/v1/sessions/search', { key: bob, body: { query: marker } });
      assert.equal(search.status, 200, search.text);
      assert.deepEqual(search.body.data, []);
      const mine = await s.request('POST', '/v1/sessions/search', { key: alice, body: { query: marker } });
      assert.ok(mine.body.data.length >= 1, 'Alice finds her own');
      assert.equal((await s.request('GET', `/v1/runs/${runId}`)).status, 200, 'the tenant admin sees it');
    });

    it("answers 404 to Bob for the agent's task, its events and callbacks, and to acting on it", async () => {
      const as = (key: string) => ({ key, headers: { 'x-api-key': key } });
      for (const path of [
        `/v1/tasks/${taskId}`,
        `/v1/tasks/${taskId}/events`,
        `/v1/tasks/${taskId}/callbacks`,
        `/api/agents/tasks/${taskId}`,
        '/v1/delegation/task/alice-vault-task',
        `/v1/delegation/task/${taskId}`,
        `/v1/tasks?agent_id=${agentId}`,
      ])
        assert.equal((await get(s.url, path, bob)).status, 404, path);
      for (const action of ['cancel', 'retry']) {
        const res = await s.request('POST', `/v1/tasks/${taskId}/${action}`, { key: bob, body: {} });
        assert.equal(res.status, 404, `${action}: ${res.text}`);
      }
      const listed = await s.request('GET', '/v1/tasks?limit=100', { key: bob });
      assert.ok(!listed.body.data.some((t: { id: string }) => t.id === taskId), 'not listed for Bob');
      const queue = await s.request('GET', '/v1/tasks/status', { key: bob });
      assert.equal(queue.status, 200, queue.text);
      assert.ok(!queue.text.includes(agentId), `the queue's rows by agent name it: ${queue.text}`);
      const adminQueue = await s.request('GET', '/v1/tasks/status');
      assert.ok(adminQueue.text.includes(agentId), 'the admin sees its row');
      const zora = await s.request('GET', '/api/agents/tasks?limit=100', as(bob));
      assert.ok(!zora.body.tasks.some((t: { id: string }) => t.id === taskId), 'not listed by ZORA');
      // Alice and the tenant's admin reach it.
      for (const key of [alice, undefined]) {
        assert.equal((await s.request('GET', `/v1/tasks/${taskId}`, { key })).status, 200);
        assert.equal((await s.request('GET', `/v1/tasks/${taskId}/callbacks`, { key })).status, 200);
        assert.equal((await get(s.url, `/v1/tasks/${taskId}/events`, key ?? s.adminKey)).status, 200);
        const all = await s.request('GET', '/v1/tasks?limit=100', { key });
        assert.ok(all.body.data.some((t: { id: string }) => t.id === taskId));
      }
    });

    it("still shows Bob the runs of the tenant's shared agents", async () => {
      assert.equal((await get(s.url, `/v1/runs/${sharedRunId}`, bob)).status, 200);
      const list = await s.request('GET', '/v1/runs?limit=100', { key: bob });
      assert.ok(list.body.data.some((r: { id: string }) => r.id === sharedRunId));
      const usage = await s.request('GET', '/v1/usage', { key: bob });
      assert.ok(
        usage.body.data.some((r: { agent: string }) => r.agent === 'Team Desk'),
        usage.text,
      );
    });
  });
}
