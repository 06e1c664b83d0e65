/**
 * Agentry agents served over A2A, driven by the A2A SDK's own client against the real server:
 * the card, send, stream, get, cancel, an approval surfaced as input-required and answered, push
 * notifications, the 0.3 method names, and the refusals (no key, another tenant, an agent not
 * published).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  type Message,
  Role,
  type SendMessageRequest,
  type StreamResponse,
  type Task,
  TaskState,
} from '@a2a-js/sdk';
import {
  type Client,
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from '@a2a-js/sdk/client';
import { collectGarbageEvery } from '../helpers/gc.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

const keyed = (key: string | null): typeof fetch =>
  ((input: string | URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (key) headers.set('authorization', `Bearer ${key}`);
    return fetch(input, { ...init, headers });
  }) as typeof fetch;

async function clientFor(s: TestServer, agentId: string, key: string | null): Promise<Client> {
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl: keyed(key) })],
    }),
  );
  return factory.createFromUrl(`${s.url}/a2a/${agentId}/`);
}

function message(text: string, extra: Partial<Message> = {}): SendMessageRequest {
  return {
    tenant: '',
    configuration: undefined,
    metadata: undefined,
    message: {
      messageId: crypto.randomUUID(),
      contextId: '',
      taskId: '',
      role: Role.ROLE_USER,
      parts: [
        {
          content: { $case: 'text', value: text },
          metadata: undefined,
          filename: '',
          mediaType: 'text/plain',
        },
      ],
      metadata: undefined,
      extensions: [],
      referenceTaskIds: [],
      ...extra,
    },
  };
}

const textOf = (task: Task) =>
  task.artifacts
    .flatMap((a) => a.parts)
    .map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
    .join('');

/** A loopback receiver for push notifications: the bodies and headers it got, in order. */
async function receiver() {
  const got: Array<{ body: unknown; headers: IncomingMessage['headers']; path?: string }> = [];
  const waiting: Array<() => void> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ body: JSON.parse(body), headers: req.headers, path: req.url });
      res.end('ok');
      for (const w of waiting.splice(0)) w();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    got,
    /** Resolves once `n` notifications arrived; fails after 30 s. */
    until: async (n: number) => {
      const deadline = Date.now() + 30_000;
      while (got.length < n) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${got.length} of ${n} push notifications arrived in 30 s`);
        await new Promise<void>((r) => {
          waiting.push(r);
          setTimeout(r, left).unref();
        });
      }
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

for (const store of stores) {
  describe(`A2A server on ${store}`, () => {
    let s: TestServer;
    let helper: { id: string };
    let careful: { id: string };
    let slow: { id: string };
    let hidden: { id: string };
    let client: Client;
    before(async () => {
      s = await startServer(store);
      const make = async (body: Record<string, unknown>) => {
        const r = await s.request('POST', '/v1/agents', { body });
        assert.equal(r.status, 201, r.text);
        return r.body as { id: string };
      };
      helper = await make({
        name: 'Math Helper',
        description: 'does sums',
        tools: ['calculator'],
        visibility: 'public',
        task_types: [{ name: 'sum', description: 'adds numbers' }],
      });
      careful = await make({
        name: 'careful',
        model: 'mock/careful',
        mode: 'COLLABORATIVE',
        tools: ['write_file'],
        visibility: 'public',
      });
      slow = await make({ name: 'slow', model: 'mock/slow', visibility: 'public' });
      hidden = await make({ name: 'hidden' });
      client = await clientFor(s, helper.id, s.adminKey);
    });
    after(async () => {
      await s.close();
    });

    it('publishes a card with skills, capabilities and the API-key schemes', async () => {
      const card = await new DefaultAgentCardResolver().resolve(`${s.url}/a2a/${helper.id}/`);
      assert.equal(card.name, 'Math Helper');
      assert.equal(card.description, 'does sums');
      assert.deepEqual(
        card.skills.map((k) => k.id),
        ['chat', 'task:sum', 'tool:calculator'],
      );
      assert.equal(card.capabilities?.streaming, true);
      assert.equal(card.capabilities?.pushNotifications, true);
      assert.deepEqual(card.defaultInputModes, ['text/plain', 'application/json']);
      assert.deepEqual(card.defaultOutputModes, ['text/plain']);
      assert.equal(card.supportedInterfaces[0]?.url, `${s.url}/a2a/${helper.id}/`);
      assert.equal(card.securitySchemes.bearer?.scheme?.$case, 'httpAuthSecurityScheme');
      assert.equal(card.securitySchemes.api_key?.scheme?.$case, 'apiKeySecurityScheme');
      const hiddenCard = await s.request('GET', `/a2a/${hidden.id}/.well-known/agent-card.json`, {
        key: null,
      });
      assert.equal(hiddenCard.status, 404);
      // No root agent: no card at the root, but a 404 whose details point to the published agents'.
      await assert.rejects(new DefaultAgentCardResolver().resolve(`${s.url}/`), /404/);
      const root = await s.request('GET', '/.well-known/agent-card.json', { key: null });
      const listed = root.body.error.details.agents.map((a: { id: string }) => a.id);
      assert.ok(listed.includes(helper.id), root.text);
      assert.ok(!listed.includes(hidden.id), 'an unpublished agent is not listed');
    });

    it('sends a message: the task is the run, completed with the answer', async () => {
      const task = (await client.sendMessage(message('use the calculator tool for 12 * 7'))) as Task;
      assert.equal(task.status?.state, TaskState.TASK_STATE_COMPLETED);
      assert.match(textOf(task), /84/);
      const run = await s.request('GET', `/v1/runs/${task.id}`);
      assert.equal(run.status, 200, run.text);
      assert.equal(run.body.session_id, task.contextId);
      assert.equal(run.body.status, 'completed');
      const got = await client.getTask({ id: task.id } as never);
      assert.equal(got.status?.state, TaskState.TASK_STATE_COMPLETED);
      assert.equal(textOf(got), textOf(task));
      // The same context continues the same session.
      const next = (await client.sendMessage(message('and 2+2?', { contextId: task.contextId }))) as Task;
      assert.equal(next.contextId, task.contextId);
      assert.notEqual(next.id, task.id);
    });

    it('streams the task, its answer and its end, and closes at the terminal state', async () => {
      const events: StreamResponse[] = [];
      for await (const e of client.sendMessageStream(message('use the calculator tool for 6 * 7')))
        events.push(e);
      const kinds = events.map((e) => e.payload?.$case);
      assert.equal(kinds[0], 'task');
      assert.ok(kinds.includes('artifactUpdate'), kinds.join());
      const statuses = events.flatMap((e) => (e.payload?.$case === 'statusUpdate' ? [e.payload.value] : []));
      assert.equal(statuses.at(-1)?.status?.state, TaskState.TASK_STATE_COMPLETED);
      // The terminal status is the last event; the whole answer comes just before it.
      const last = events.at(-1)!.payload;
      assert.equal(last?.$case, 'statusUpdate');
      assert.equal(last?.value.status?.state, TaskState.TASK_STATE_COMPLETED);
      const before = events.at(-2)!.payload;
      assert.equal(before?.$case, 'artifactUpdate');
      assert.equal(before?.value.lastChunk, true);
      assert.match(JSON.stringify(before), /42/);
    });

    it('cancels a running task', async () => {
      s.app.services.models.mock.script('slow', [{ content: 'late', delay_ms: 120_000 }]);
      const slowClient = await clientFor(s, slow.id, s.adminKey);
      const started = (await slowClient.sendMessage({
        ...message('take your time'),
        configuration: {
          returnImmediately: true,
          acceptedOutputModes: [],
          taskPushNotificationConfig: undefined,
        },
      } as never)) as Task;
      assert.notEqual(started.status?.state, TaskState.TASK_STATE_COMPLETED);
      const cancelled = await slowClient.cancelTask({ id: started.id } as never);
      assert.equal(cancelled.status?.state, TaskState.TASK_STATE_CANCELED);
      const again = await slowClient.getTask({ id: started.id } as never);
      assert.equal(again.status?.state, TaskState.TASK_STATE_CANCELED);
      await assert.rejects(slowClient.cancelTask({ id: started.id } as never), /already ended/);
    });

    it('answers a blocking send after a2a.send_wait_ms with the task working, though garbage is collected meanwhile', async () => {
      // The wait's deadline was a timeout signal inside AbortSignal.any, which a collection took
      // on Node 20: the send then waited for the task to end and answered it completed.
      s.app.services.models.mock.script('slow', [{ content: 'late', delay_ms: 20_000 }]);
      const slowClient = await clientFor(s, slow.id, s.adminKey);
      const { a2a } = s.app.services.config;
      const was = a2a.send_wait_ms;
      a2a.send_wait_ms = 200;
      const stop = collectGarbageEvery(20);
      let task: Task;
      try {
        task = (await slowClient.sendMessage(message('take your time'))) as Task;
      } finally {
        stop();
        a2a.send_wait_ms = was;
      }
      assert.equal(task.status?.state, TaskState.TASK_STATE_WORKING);
      await slowClient.cancelTask({ id: task.id } as never);
    });

    it('surfaces an approval as input-required, and the answer resumes the run', async () => {
      s.app.services.models.mock.script('careful', [
        { tool_calls: [{ name: 'write_file', arguments: { path: 'a2a.txt', content: 'approved' } }] },
        { content: 'written' },
      ]);
      const c = await clientFor(s, careful.id, s.adminKey);
      const paused = (await c.sendMessage(message('write a2a.txt'))) as Task;
      assert.equal(paused.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);
      assert.match(JSON.stringify(paused.status?.message), /write_file/);
      await assert.rejects(
        c.sendMessage(message('maybe later', { taskId: paused.id, contextId: paused.contextId })),
        /approve/,
      );
      const done = (await c.sendMessage(
        message('approve', { taskId: paused.id, contextId: paused.contextId }),
      )) as Task;
      assert.equal(done.id, paused.id);
      assert.equal(done.status?.state, TaskState.TASK_STATE_COMPLETED);
      assert.equal(textOf(done), 'written');
      const run = await s.request('GET', `/v1/runs/${done.id}`);
      const wrote = run.body.steps.find((x: { name: string }) => x.name === 'write_file');
      assert.equal(wrote?.error, null, JSON.stringify(wrote));
    });

    it('streams up to input-required, and a streamed approval carries the run to its end', async () => {
      s.app.services.models.mock.script('careful', [
        { tool_calls: [{ name: 'write_file', arguments: { path: 'b.txt', content: 'x' } }] },
        { content: 'written again' },
      ]);
      const c = await clientFor(s, careful.id, s.adminKey);
      const lastState = (events: StreamResponse[]) =>
        events
          .flatMap((e) => (e.payload?.$case === 'statusUpdate' ? [e.payload.value.status?.state] : []))
          .at(-1);
      const first: StreamResponse[] = [];
      for await (const e of c.sendMessageStream(message('write b.txt'))) first.push(e);
      assert.equal(lastState(first), TaskState.TASK_STATE_INPUT_REQUIRED);
      const task = first[0]!.payload?.value as Task;
      const second: StreamResponse[] = [];
      for await (const e of c.sendMessageStream(
        message('approve', { taskId: task.id, contextId: task.contextId }),
      ))
        second.push(e);
      assert.equal(lastState(second), TaskState.TASK_STATE_COMPLETED);
      assert.equal(second.at(-1)?.payload?.$case, 'statusUpdate');
      assert.match(JSON.stringify(second.at(-2)), /written again/);
    });

    it('posts push notifications to a loopback receiver when the tenant allows private egress', async () => {
      const me = await s.app.services.tenants.find(s.app.defaultTenantId);
      s.app.services.policies.set({ tenants: { [me!.name]: { network: { allow_private_egress: true } } } });
      const hook = await receiver();
      try {
        const task = (await client.sendMessage({
          ...message('use the calculator tool for 3 * 3'),
          configuration: {
            returnImmediately: true,
            acceptedOutputModes: [],
            taskPushNotificationConfig: {
              url: hook.url,
              token: 'tok-1',
              id: '',
              taskId: '',
              tenant: '',
              authentication: undefined,
            },
          },
        } as never)) as Task;
        const configs = await client.listTaskPushNotificationConfig({ taskId: task.id } as never);
        assert.equal(configs.configs[0]?.url, hook.url);
        await hook.until(1);
        const last = () => hook.got.at(-1)!.body as { task: { status: { state: string } } };
        while (last().task.status.state !== 'TASK_STATE_COMPLETED') await hook.until(hook.got.length + 1);
        assert.equal(hook.got[0]!.headers['x-a2a-notification-token'], 'tok-1');
        assert.match(JSON.stringify(last()), /9/);
        // The config is read, replaced by one made with its own call, and deleted.
        const id = configs.configs[0]!.id;
        const got = await client.getTaskPushNotificationConfig({ taskId: task.id, id } as never);
        assert.equal(got.url, hook.url);
        const made = await client.createTaskPushNotificationConfig({
          id: 'second',
          taskId: task.id,
          url: `${hook.url}/2`,
          token: 'tok-2',
          tenant: '',
          authentication: undefined,
        } as never);
        assert.equal(made.url, `${hook.url}/2`);
        // A config saved after the task ended still hears how it ended.
        const isLate = (g: (typeof hook.got)[number]) => g.path === '/hook/2';
        while (!hook.got.some(isLate)) await hook.until(hook.got.length + 1);
        const late = hook.got.find(isLate)!;
        assert.equal(
          (late.body as { task: { status: { state: string } } }).task.status.state,
          'TASK_STATE_COMPLETED',
        );
        assert.equal(late.headers['x-a2a-notification-token'], 'tok-2');
        await client.deleteTaskPushNotificationConfig({ taskId: task.id, id } as never);
        const left = await client.listTaskPushNotificationConfig({ taskId: task.id } as never);
        assert.deepEqual(
          left.configs.map((c) => c.id),
          ['second'],
        );
        await assert.rejects(client.getTaskPushNotificationConfig({ taskId: task.id, id } as never));
      } finally {
        await hook.close();
        s.app.services.policies.set({ tenants: {} });
      }
    });

    it('refuses a push URL at a private address while the tenant does not allow it', async () => {
      const task = (await client.sendMessage(message('hello'))) as Task;
      await assert.rejects(
        client.createTaskPushNotificationConfig({
          taskId: task.id,
          id: 'x',
          url: 'http://127.0.0.1:9/hook',
          token: '',
          tenant: '',
          authentication: undefined,
        }),
        /refused/,
      );
    });

    it('answers the A2A 0.3 method names (message/send, tasks/get)', async () => {
      const rpc = (method: string, params: unknown) =>
        s.request('POST', `/a2a/${helper.id}`, { body: { jsonrpc: '2.0', id: 1, method, params } });
      const sent = await rpc('message/send', {
        message: {
          kind: 'message',
          messageId: 'm-1',
          role: 'user',
          parts: [{ kind: 'text', text: 'hello there' }],
        },
      });
      assert.equal(sent.status, 200, sent.text);
      assert.equal(sent.body.result.kind, 'task', sent.text);
      assert.equal(sent.body.result.status.state, 'completed');
      const got = await rpc('tasks/get', { id: sent.body.result.id });
      assert.equal(got.body.result.id, sent.body.result.id);
      const missing = await rpc('tasks/get', { id: '00000000-0000-7000-8000-000000000000' });
      assert.equal(missing.body.error.code, -32001, missing.text);
    });

    it("hides a task in another user's private session, as /v1 hides its run", async () => {
      const keyFor = async (owner: string) =>
        (await s.request('POST', '/v1/keys', { body: { scopes: ['write'], owner } })).body.secret as string;
      const aliceKey = await keyFor('user:alice');
      const alice = await clientFor(s, helper.id, aliceKey);
      const bob = await clientFor(s, helper.id, await keyFor('user:bob'));
      const task = (await alice.sendMessage(message('my secret is 7'))) as Task;
      assert.equal((await bob.getTask({ id: task.id } as never)).id, task.id, "the tenant's by default");
      const hide = await s.request('PATCH', `/v1/sessions/${task.contextId}`, {
        key: aliceKey,
        body: { visibility: 'private' },
      });
      assert.equal(hide.status, 200, hide.text);
      await assert.rejects(bob.getTask({ id: task.id } as never), /not found/);
      await assert.rejects(bob.cancelTask({ id: task.id } as never), /not found/);
      assert.equal((await alice.getTask({ id: task.id } as never)).id, task.id);
    });

    it('publishes every agent of a tenant that says so, and the root agent at the well-known path', async () => {
      const card = `/a2a/${hidden.id}/.well-known/agent-card.json`;
      assert.equal((await s.request('GET', card, { key: null })).status, 404);
      const me = await s.app.services.tenants.find(s.app.defaultTenantId);
      s.app.services.policies.set({ tenants: { [me!.name]: { a2a: { publish_all_agents: true } } } });
      const { config } = s.app.services;
      try {
        const shown = await s.request('GET', card, { key: null });
        assert.equal(shown.status, 200, shown.text);
        assert.equal(shown.body.name, 'hidden');
        const hiddenClient = await clientFor(s, hidden.id, s.adminKey);
        const task = (await hiddenClient.sendMessage(message('hello'))) as Task;
        assert.equal(task.status?.state, TaskState.TASK_STATE_COMPLETED);
        config.a2a.root_agent = helper.id;
        const root = await new DefaultAgentCardResolver().resolve(`${s.url}/`);
        assert.equal(root.name, 'Math Helper');
        assert.equal(root.supportedInterfaces[0]?.url, `${s.url}/a2a/${helper.id}/`);
      } finally {
        s.app.services.policies.set({ tenants: {} });
        config.a2a.root_agent = undefined;
      }
      assert.equal((await s.request('GET', card, { key: null })).status, 404);
    });

    it('refuses a call without a key, an unpublished agent, and another tenant', async () => {
      const anonymous = await clientFor(s, helper.id, null);
      await assert.rejects(anonymous.sendMessage(message('hi')), /401/);
      const raw = await s.request('POST', `/a2a/${helper.id}`, {
        key: null,
        body: { jsonrpc: '2.0', id: 1, method: 'message/send', params: {} },
      });
      assert.equal(raw.status, 401);
      const unpublished = await s.request('POST', `/a2a/${hidden.id}`, {
        body: { jsonrpc: '2.0', id: 1, method: 'tasks/get', params: { id: helper.id } },
      });
      assert.equal(unpublished.status, 404);

      const t = await s.request('POST', '/v1/tenants', { body: { name: `a2a-other-${store}` } });
      assert.equal(t.status, 201, t.text);
      const other = await clientFor(s, helper.id, t.body.admin_key.secret);
      await assert.rejects(other.sendMessage(message('hi')), /404/);
      const mine = (await client.sendMessage(message('hello'))) as Task;
      const raw2 = await s.request('POST', `/a2a/${helper.id}`, {
        key: t.body.admin_key.secret,
        headers: { 'a2a-version': '1.0' },
        body: { jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: mine.id } },
      });
      assert.equal(raw2.status, 404);

      const readKey = (await s.request('POST', '/v1/keys', { body: { name: 'ro', scopes: ['read'] } })).body
        .secret;
      const reader = await clientFor(s, helper.id, readKey);
      assert.equal((await reader.getTask({ id: mine.id } as never)).id, mine.id);
      await assert.rejects(reader.sendMessage(message('hi')), /403/);
      const refused = await s.request('POST', `/a2a/${helper.id}`, {
        key: readKey,
        body: { jsonrpc: '2.0', id: 1, method: 'tasks/cancel', params: { id: mine.id } },
      });
      assert.equal(refused.status, 403);
      assert.match(refused.body.error.message, /write scope/);
    });
  });
}
