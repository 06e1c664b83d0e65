/**
 * A2A tasks that stay working, driven by the A2A SDK's client against the real server: several
 * tasks at once in one context (each working, all listed by context), and a further message on a
 * working task (it joins that task's history and is answered in it; a task that has ended refuses;
 * its push notifications follow it), and contexts a client names itself.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { type Message, Role, type SendMessageRequest, type Task, TaskState } from '@a2a-js/sdk';
import {
  type Client,
  ClientFactory,
  ClientFactoryOptions,
  JsonRpcTransportFactory,
} from '@a2a-js/sdk/client';
import { holdModel } from '../helpers/held-model.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

const keyed = (key: string): typeof fetch =>
  ((input: string | URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${key}`);
    return fetch(input, { ...init, headers });
  }) as typeof fetch;

function send(text: string, extra: Partial<Message> = {}): SendMessageRequest {
  return {
    tenant: '',
    configuration: {
      returnImmediately: true,
      acceptedOutputModes: [],
      taskPushNotificationConfig: undefined,
    },
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
  } as SendMessageRequest;
}

const said = (m: Message) =>
  m.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');

/** A task as a push notification carries it (JSON: states are names). */
interface PushedTask {
  id: string;
  status?: { state: string };
  history: unknown[];
}

/** A loopback receiver of push notifications: the tasks it was sent, in order. */
async function receiver() {
  const got: PushedTask[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push((JSON.parse(body) as { task: PushedTask }).task);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    got,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function until(check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const store of stores) {
  describe(`A2A tasks that stay working, on ${store}`, () => {
    let s: TestServer;
    let client: Client;
    let endpoint: string;
    let gate: ReturnType<typeof holdModel>;
    before(async () => {
      s = await startServer(store);
      // Every call of mock/slow waits until the test lets it go: a task stays working for the reads
      // that expect it working, however loaded the machine, and ends once they are done.
      gate = holdModel(s.app.services.models.mock, 'slow');
      const r = await s.request('POST', '/v1/agents', {
        body: { name: 'slow', model: 'mock/slow', visibility: 'public' },
      });
      assert.equal(r.status, 201, r.text);
      const factory = new ClientFactory(
        ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
          transports: [new JsonRpcTransportFactory({ fetchImpl: keyed(s.adminKey) })],
        }),
      );
      endpoint = `${s.url}/a2a/${r.body.id}/`;
      client = await factory.createFromUrl(endpoint);
    });
    beforeEach(() => gate.hold());
    // A test that failed half-way leaves nothing held for the next one or for the server's close.
    afterEach(() => gate.open());
    after(() => s.close());

    it('lists every task for the 1.x client\'s "UNRECOGNIZED" status, and refuses a status no state has (-32602)', async () => {
      const list = async (status: unknown) => {
        const res = await keyed(s.adminKey)(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'a2a-version': '1.0' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ListTasks', params: { status } }),
        });
        return (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
      };
      assert.ok((await list('UNRECOGNIZED')).result);
      assert.ok((await list('TASK_STATE_WORKING')).result);
      for (const status of ['TASK_STATE_WORKNG', 'working', 99]) {
        const answer = await list(status);
        assert.equal(answer.error?.code, -32602, JSON.stringify(answer));
        assert.match(answer.error?.message ?? '', /is not a task state/);
      }
    });

    it('runs several tasks of one context at once, and lists them by context', async () => {
      const first = (await client.sendMessage(send('first'))) as Task;
      const second = (await client.sendMessage(send('second', { contextId: first.contextId }))) as Task;
      assert.equal(second.contextId, first.contextId);
      assert.notEqual(second.id, first.id);
      // Both work at once: the second does not wait (submitted) behind the first.
      for (const t of [first, second]) {
        const got = await client.getTask({ id: t.id } as never);
        assert.equal(got.status?.state, TaskState.TASK_STATE_WORKING, `${t.id} works`);
      }
      const listed = await client.listTasks({
        contextId: first.contextId,
        status: TaskState.TASK_STATE_UNSPECIFIED,
      } as never);
      assert.deepEqual(listed.tasks.map((t) => t.id).sort(), [first.id, second.id].sort());
      // Without a status the 1.x client sends `status: "UNRECOGNIZED"` (its enum's encoding of none).
      const unfiltered = await client.listTasks({ contextId: first.contextId } as never);
      assert.deepEqual(unfiltered.tasks.map((t) => t.id).sort(), [first.id, second.id].sort());
      gate.open();
      for (const t of [first, second]) {
        await until(
          async () =>
            (await client.getTask({ id: t.id } as never)).status?.state === TaskState.TASK_STATE_COMPLETED,
        );
      }
    });

    it('takes a further message on a working task into that task, and refuses one on an ended task', async () => {
      const first = (await client.sendMessage(send('start'))) as Task;
      const more = (await client.sendMessage(send('and also this', { taskId: first.id }))) as Task;
      assert.equal(more.id, first.id, 'the same task');
      assert.equal(more.contextId, first.contextId);
      assert.equal(more.status?.state, TaskState.TASK_STATE_WORKING);
      const got = await client.getTask({ id: first.id } as never);
      assert.deepEqual(got.history.map(said), ['start', 'and also this']);
      const last = await client.getTask({ id: first.id, historyLength: 1 } as never);
      assert.deepEqual(last.history.map(said), ['and also this']);
      // The first run ending does not end the task: the further message is answered in it. Only the
      // first run's call is let go; the further run's is held (or not yet made) while the task is read.
      await gate.releaseOne();
      await until(async () => (await s.request('GET', `/v1/runs/${first.id}`)).body.status === 'completed');
      const working = await client.listTasks({
        contextId: first.contextId,
        status: TaskState.TASK_STATE_WORKING,
      } as never);
      assert.deepEqual(
        working.tasks.map((t) => [t.id, t.status?.state]),
        [[first.id, TaskState.TASK_STATE_WORKING]],
        'listed by the state of its run in progress',
      );
      gate.open();
      await until(async () => {
        const t = await client.getTask({ id: first.id } as never);
        return t.status?.state === TaskState.TASK_STATE_COMPLETED;
      });
      const done = await client.getTask({ id: first.id } as never);
      assert.equal(done.history.length, 3, 'both messages and the first answer');
      assert.equal(done.history[1]?.role, Role.ROLE_AGENT);
      assert.equal(done.artifacts.length, 1);
      const listed = await client.listTasks({
        contextId: first.contextId,
        status: TaskState.TASK_STATE_UNSPECIFIED,
      } as never);
      assert.deepEqual(
        listed.tasks.map((t) => t.id),
        [first.id],
        'the further run is part of the task, not a task',
      );
      await assert.rejects(client.sendMessage(send('once more', { taskId: first.id })), (err: unknown) => {
        assert.equal((err as { envelopeCode?: number }).envelopeCode, -32004);
        return true;
      });
    });

    it('keeps a task working while its further message waits in the queue after the first run ended', async () => {
      const first = (await client.sendMessage(send('begin'))) as Task;
      await client.sendMessage(send('then this', { taskId: first.id }));
      gate.open();
      await until(async () => {
        const t = await client.getTask({ id: first.id } as never);
        return t.status?.state === TaskState.TASK_STATE_COMPLETED;
      });
      // Between the first run's end and a worker claiming the further one, the further run is queued:
      // the store is put in that moment (both runs have ended, so no worker touches them).
      const further = (await client.getTask({ id: first.id } as never)).history[2]?.messageId.split(':')[0];
      assert.ok(further, 'the further run is in the history');
      const db = s.app.db;
      await db.query(`update runs set status = 'queued' where id = $1`, [further]);
      try {
        const got = await client.getTask({ id: first.id } as never);
        assert.equal(got.status?.state, TaskState.TASK_STATE_WORKING, 'started, not submitted again');
        const working = await client.listTasks({
          contextId: first.contextId,
          status: TaskState.TASK_STATE_WORKING,
        } as never);
        assert.deepEqual(
          working.tasks.map((t) => t.id),
          [first.id],
        );
      } finally {
        await db.query(`update runs set status = 'completed' where id = $1`, [further]);
      }
    });

    it('posts push notifications of a task through its further runs, not only its first', async () => {
      const me = await s.app.services.tenants.find(s.app.defaultTenantId);
      s.app.services.policies.set({ tenants: { [me!.name]: { network: { allow_private_egress: true } } } });
      const hook = await receiver();
      try {
        const request = send('notify me');
        request.configuration!.taskPushNotificationConfig = {
          url: hook.url,
          token: 'tok',
          id: '',
          taskId: '',
          tenant: '',
          authentication: undefined,
        } as never;
        const first = (await client.sendMessage(request)) as Task;
        await client.sendMessage(send('and notify this too', { taskId: first.id }));
        gate.open();
        await until(
          async () =>
            (await client.getTask({ id: first.id } as never)).status?.state ===
            TaskState.TASK_STATE_COMPLETED,
        );
        // The first notice is where the task stood when its config was saved.
        assert.equal(hook.got[0]?.status?.state, 'TASK_STATE_WORKING');
        const ended = () => hook.got.filter((t) => t.status?.state === 'TASK_STATE_COMPLETED');
        await until(async () => ended().length > 0);
        // The first run ending is no end of the task: the one notice of its end comes after the
        // further run, with the whole task (both messages and the first answer).
        assert.equal(ended().length, 1, JSON.stringify(hook.got.map((t) => t.status?.state)));
        assert.equal(ended()[0]!.id, first.id);
        assert.equal(ended()[0]!.history.length, 3);
      } finally {
        await hook.close();
      }
    });

    it("keeps a context the client names, and refuses a message whose context is not its task's", async () => {
      const context = `client-context-${crypto.randomUUID()}`;
      const a = (await client.sendMessage(send('first in my context', { contextId: context }))) as Task;
      const b = (await client.sendMessage(send('second in my context', { contextId: context }))) as Task;
      assert.equal(a.contextId, context);
      assert.equal(b.contextId, context);
      assert.notEqual(a.id, b.id);
      const listed = await client.listTasks({
        contextId: context,
        status: TaskState.TASK_STATE_UNSPECIFIED,
      } as never);
      assert.deepEqual(listed.tasks.map((t) => t.id).sort(), [a.id, b.id].sort());
      await assert.rejects(
        client.sendMessage(send('wrong context', { taskId: a.id, contextId: `${context}-other` })),
        /context/,
      );
      gate.open();
      for (const t of [a, b]) {
        await until(
          async () =>
            (await client.getTask({ id: t.id } as never)).status?.state === TaskState.TASK_STATE_COMPLETED,
        );
      }
    });

    it('streams a further message on a working task under the task id', async () => {
      const first = (await client.sendMessage(send('begin'))) as Task;
      const states: TaskState[] = [];
      for await (const e of client.sendMessageStream({
        ...send('stream this too', { taskId: first.id }),
        configuration: undefined,
      } as SendMessageRequest)) {
        // The further message is in the task once its stream has begun: the first run may end now.
        gate.open();
        const p = e.payload;
        if (p?.$case === 'task') assert.equal(p.value.id, first.id);
        if (p?.$case === 'statusUpdate') {
          assert.equal(p.value.taskId, first.id);
          assert.equal(p.value.contextId, first.contextId);
          states.push(p.value.status!.state);
        }
      }
      assert.equal(states.at(-1), TaskState.TASK_STATE_COMPLETED);
      const done = await client.getTask({ id: first.id } as never);
      assert.equal(done.status?.state, TaskState.TASK_STATE_COMPLETED);
      assert.deepEqual(done.history.filter((m) => m.role === Role.ROLE_USER).map(said), [
        'begin',
        'stream this too',
      ]);
    });
  });
}
