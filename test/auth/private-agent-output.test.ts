/**
 * What a private agent produced is as private as the agent: its runs, sessions, messages, traces,
 * run events and usage, its tasks, their events and their callback deliveries, the experiments run
 * on it, the datasets made from its runs, and the Responses it gave. Alice (a user of the tenant)
 * talks to her private agent; Bob (another user of the same tenant) asks every GET route of the
 * route table (so a route added later is swept too), with the run's, the session's, the agent's,
 * the task's, the dataset's, the experiments' and the stored response's ids in its path and query,
 * and never reads what Alice said, those ids, nor the agent's name. The same sweep with Alice's key
 * finds them, and Bob still reads a run of an agent the tenant shares. Every evaluation route and
 * model front door that acts on them answers Bob 404.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
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
    /** Alice's private dataset (her agent's run in it), and one the tenant shares. */
    let vaultSetId: string;
    let teamSetId: string;
    /** Alice's experiments: her private agent over the shared dataset, and over her private one. */
    let onTeamSet: string;
    let onVaultSet: string;
    /** Her private agent's stored response, and her plain model one (the tenant's). */
    let responseId: string;
    let modelResponseId: string;
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

      const dataset = async (name: string, visibility: string, message: string) => {
        const r = await s.request('POST', '/v1/datasets', {
          key: alice,
          body: { name, visibility, items: [{ input: { message }, expected: message }] },
        });
        assert.equal(r.status, 201, r.text);
        assert.equal(r.body.visibility, visibility);
        return r.body.id as string;
      };
      vaultSetId = await dataset('alice-vault-set', 'private', `recall ${marker}`);
      teamSetId = await dataset('team-set', 'tenant', 'hello team');
      const copied = await s.request('POST', `/v1/datasets/${vaultSetId}/items/from-run`, {
        key: alice,
        body: { run_id: runId },
      });
      assert.equal(copied.status, 201, copied.text);
      const experiment = async (datasetId: string) => {
        const r = await s.request('POST', '/v1/experiments', {
          key: alice,
          body: { dataset: datasetId, agent: agentName, evaluators: [{ type: 'exact_match' }] },
        });
        assert.equal(r.status, 201, r.text);
        // Private: its results are a private agent's answers.
        assert.equal(r.body.visibility, 'private');
        return r.body.id as string;
      };
      onTeamSet = await experiment(teamSetId);
      onVaultSet = await experiment(vaultSetId);
      for (const id of [onTeamSet, onVaultSet])
        await eventually(
          async () => {
            const r = await s.request('GET', `/v1/experiments/${id}`, { key: alice });
            return r.body.status === 'running' ? undefined : r.body;
          },
          60_000,
          `experiment ${id} to finish`,
        );
      const answered = await s.request('POST', '/v1/responses', {
        key: alice,
        body: { model: `agent/${agentName}`, input: `what is the vault code? ${marker}` },
      });
      assert.equal(answered.status, 200, answered.text);
      responseId = answered.body.id;
      const plain = await s.request('POST', '/v1/responses', {
        key: alice,
        body: { model: 'mock/default', input: 'hello model' },
      });
      assert.equal(plain.status, 200, plain.text);
      modelResponseId = plain.body.id;

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
        `?ids=${onTeamSet},${onVaultSet}`,
        `?dataset=${teamSetId}`,
      ];
      // A list route with each filter; a route of one object by each id.
      paths = [...urls].flatMap((url) =>
        url.includes(':')
          ? [runId, sessionId, agentId, taskId, vaultSetId, onTeamSet, onVaultSet, responseId].map((id) =>
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
        '/v1/datasets',
        '/v1/datasets/:id',
        '/v1/datasets/:id/items',
        '/v1/datasets/:id/export',
        '/v1/experiments',
        '/v1/experiments/compare',
        '/v1/experiments/:id',
        '/v1/experiments/:id/items',
        '/v1/experiments/:id/events',
        '/v1/experiments/:id/stream',
        '/v1/runs/:id/scores',
        '/v1/responses/:id',
        '/v1/responses/:id/input_items',
      ]) {
        assert.ok(
          paths.some((p) =>
            [runId, sessionId, taskId, vaultSetId, onVaultSet, responseId].some((id) =>
              p.startsWith(route.replace(':id', id)),
            ),
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
        `/v1/datasets/${vaultSetId}/items`,
        `/v1/datasets/${vaultSetId}/export`,
        `/v1/experiments/${onVaultSet}/items`,
        `/v1/responses/${responseId}`,
        `/v1/responses/${responseId}/input_items`,
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
          ['the private dataset', vaultSetId],
          ['an experiment', onTeamSet],
          ['an experiment', onVaultSet],
          ['the response', responseId],
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

    it('answers 404 to Bob on every evaluation route that would run, copy or change them', async () => {
      const bobSays = async (method: string, path: string, body?: unknown) => {
        const res = await s.request(method, path, { key: bob, body });
        assert.equal(res.status, 404, `${method} ${path}: ${res.status} ${res.text}`);
        assert.ok(!res.text.includes(marker), `${method} ${path} says what Alice said`);
      };
      const evaluators = [{ type: 'exact_match' }];
      // Her private agent, by name, id or version, on the dataset the tenant shares.
      for (const agent of [agentName, agentId, `${agentName}@1`])
        await bobSays('POST', '/v1/experiments', { dataset: teamSetId, agent, evaluators });
      await bobSays('POST', '/v1/experiments', {
        dataset: teamSetId,
        agent: agentId,
        agent_version: 1,
        evaluators,
      });
      // Her private dataset, with an agent the tenant shares.
      await bobSays('POST', '/v1/experiments', { dataset: vaultSetId, agent: 'Team Desk', evaluators });
      await bobSays('POST', '/v1/experiments', {
        dataset: 'alice-vault-set',
        agent: 'Team Desk',
        evaluators,
      });
      // Her private agent's run, copied into the shared dataset.
      await bobSays('POST', `/v1/datasets/${teamSetId}/items/from-run`, { run_id: runId });
      // Her private dataset: changed, filled, emptied, deleted.
      const [item] = (await s.request('GET', `/v1/datasets/${vaultSetId}/items`, { key: alice })).body.data;
      await bobSays('PATCH', `/v1/datasets/${vaultSetId}`, { description: 'mine now' });
      await bobSays('PATCH', '/v1/datasets/alice-vault-set', { visibility: 'tenant' });
      await bobSays('POST', `/v1/datasets/${vaultSetId}/items`, { items: [{ input: { message: 'x' } }] });
      await bobSays('POST', `/v1/datasets/${vaultSetId}/items/from-run`, { run_id: sharedRunId });
      await bobSays('PATCH', `/v1/datasets/${vaultSetId}/items/${item.id}`, { expected: 'x' });
      await bobSays('DELETE', `/v1/datasets/${vaultSetId}/items/${item.id}`);
      await bobSays('DELETE', `/v1/datasets/${vaultSetId}`);
      const imported = await s.request('POST', `/v1/datasets/${vaultSetId}/import`, {
        key: bob,
        headers: { 'content-type': 'application/x-ndjson' },
        body: '{"input":{"message":"x"}}\n',
      });
      assert.equal(imported.status, 404, imported.text);
      // Her experiments: acted on, compared.
      for (const id of [onTeamSet, onVaultSet]) {
        for (const action of ['cancel', 'resume'])
          await bobSays('POST', `/v1/experiments/${id}/${action}`, {});
        await bobSays('DELETE', `/v1/experiments/${id}`);
      }
      await bobSays('GET', `/v1/experiments/compare?ids=${onTeamSet},${onVaultSet}`);
      // Live evaluators on her private agent.
      await bobSays('PUT', `/v1/agents/${agentId}/evaluators`, { evaluators, sample_rate: 1 });
      await bobSays('DELETE', `/v1/agents/${agentId}/evaluators`);
      // Scores on her private agent's run (its experiments' runs as well).
      await bobSays('POST', `/v1/runs/${runId}/scores`, { name: 'peek', value: 1 });
      const items = await s.request('GET', `/v1/experiments/${onTeamSet}/items`, { key: alice });
      const itemRun = items.body.data[0].run_id as string;
      await bobSays('GET', `/v1/runs/${itemRun}/scores`);
      await bobSays('POST', `/v1/runs/${itemRun}/scores`, { name: 'peek', value: 1 });
      // Not listed for Bob; listed for Alice and the admin.
      const listed = async (key: string | undefined, path: string) =>
        (await s.request('GET', path, { key })).body.data.map((r: { id: string }) => r.id);
      assert.deepEqual(
        (await listed(bob, '/v1/experiments?limit=100')).filter((id: string) =>
          [onTeamSet, onVaultSet].includes(id),
        ),
        [],
      );
      assert.ok(!(await listed(bob, '/v1/datasets?limit=100')).includes(vaultSetId));
      assert.ok(
        (await listed(bob, '/v1/datasets?limit=100')).includes(teamSetId),
        'the shared one is listed',
      );
      for (const key of [alice, undefined]) {
        assert.ok((await listed(key, '/v1/experiments?limit=100')).includes(onVaultSet));
        assert.ok((await listed(key, '/v1/datasets?limit=100')).includes(vaultSetId));
        const compared = await s.request('GET', `/v1/experiments/compare?ids=${onTeamSet},${onVaultSet}`, {
          key,
        });
        assert.equal(compared.status, 200, compared.text);
      }
    });

    it("keeps a private agent's run out of a dataset the tenant shares, even for its owner", async () => {
      const res = await s.request('POST', `/v1/datasets/${teamSetId}/items/from-run`, {
        key: alice,
        body: { run_id: runId },
      });
      assert.equal(res.status, 422, res.text);
      assert.match(res.text, /run_id/);
      const items = await s.request('GET', `/v1/datasets/${teamSetId}/items`, { key: bob });
      assert.ok(!items.text.includes(marker));
      // Only its owner (or an admin) makes a dataset private or shared.
      const shared = await s.request('PATCH', `/v1/datasets/${teamSetId}`, {
        key: bob,
        body: { visibility: 'private' },
      });
      assert.equal(shared.status, 403, shared.text);
    });

    it('answers 404 to Bob for her stored responses and her private agent on every model door', async () => {
      for (const path of [`/v1/responses/${responseId}`, `/v1/responses/${responseId}/input_items`]) {
        assert.equal((await get(s.url, path, bob)).status, 404, path);
        assert.equal((await get(s.url, path, alice)).status, 200, `${path} for Alice`);
        assert.equal((await get(s.url, path, s.adminKey)).status, 200, `${path} for the admin`);
      }
      const follow = await s.request('POST', '/v1/responses', {
        key: bob,
        body: { model: 'mock/default', input: 'and then?', previous_response_id: responseId },
      });
      assert.equal(follow.status, 404, follow.text);
      assert.ok(!follow.text.includes(marker));
      const deleted = await s.request('DELETE', `/v1/responses/${responseId}`, { key: bob });
      assert.equal(deleted.status, 404, deleted.text);
      const door = [
        [
          '/v1/chat/completions',
          { model: `agent/${agentName}`, messages: [{ role: 'user', content: 'hi' }] },
        ],
        [
          '/v1/chat/completions',
          { model: `agent/${agentId}`, messages: [{ role: 'user', content: 'hi' }], stream: true },
        ],
        ['/v1/responses', { model: `agent/${agentName}`, input: 'hi' }],
        ['/v1/responses', { model: `agent/${agentId}`, input: 'hi', stream: true }],
        [
          '/v1/messages',
          { model: `agent/${agentName}`, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] },
        ],
      ] as const;
      for (const [path, body] of door) {
        const res = await s.request('POST', path, { key: bob, body });
        assert.equal(res.status, 404, `${path} ${body.model}: ${res.text}`);
      }
      // Alice's follow-up chains on it; a plain model response stays the tenant's, as before.
      const mine = await s.request('POST', '/v1/responses', {
        key: alice,
        body: { model: `agent/${agentName}`, input: 'and then?', previous_response_id: responseId },
      });
      assert.equal(mine.status, 200, mine.text);
      assert.equal((await get(s.url, `/v1/responses/${mine.body.id}`, bob)).status, 404, 'the follow-up too');
      assert.equal((await get(s.url, `/v1/responses/${modelResponseId}`, bob)).status, 200);
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
