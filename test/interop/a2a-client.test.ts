/**
 * Agentry delegating to a remote A2A agent: an A2A SDK server on loopback (its own request handler,
 * task store and JSON-RPC transport) stands for another organisation's agent, reached as an
 * `env: a2a` agent, as a swarm handoff target and as an `a2a__<agent>` tool, through the guarded
 * outbound client (refused until the tenant allows private egress), retried on a 503, and carrying
 * the run's trace context.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AgentCard, type Message, TaskState } from '@a2a-js/sdk';
import {
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  InMemoryTaskStore,
  JsonRpcTransportHandler,
  ServerCallContext,
} from '@a2a-js/sdk/server';
import { AppError } from '../../src/errors.ts';
import { A2ARemotes } from '../../src/runtime/a2a/remote.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

const said = (m: Message) =>
  m.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');

/** The remote agent: answers "remote says: <message>", or fails its task when asked to. */
const executor: AgentExecutor = {
  async execute(ctx, bus) {
    const text = said(ctx.userMessage);
    const ids = { taskId: ctx.taskId, contextId: ctx.contextId, metadata: undefined };
    bus.publish(
      AgentEvent.task({
        id: ctx.taskId,
        contextId: ctx.contextId,
        status: {
          state: TaskState.TASK_STATE_WORKING,
          message: undefined,
          timestamp: new Date().toISOString(),
        },
        artifacts: [],
        history: [ctx.userMessage],
        metadata: undefined,
      }),
    );
    if (!text.includes('fail')) {
      bus.publish(
        AgentEvent.artifactUpdate({
          ...ids,
          artifact: {
            artifactId: 'answer',
            name: 'answer',
            description: '',
            parts: [
              {
                content: { $case: 'text', value: `remote says: ${text}` },
                metadata: undefined,
                filename: '',
                mediaType: 'text/plain',
              },
            ],
            metadata: undefined,
            extensions: [],
          },
          append: false,
          lastChunk: true,
        }),
      );
    }
    bus.publish(
      AgentEvent.statusUpdate({
        ...ids,
        status: {
          state: text.includes('fail') ? TaskState.TASK_STATE_FAILED : TaskState.TASK_STATE_COMPLETED,
          message: undefined,
          timestamp: new Date().toISOString(),
        },
      }),
    );
    bus.finished();
  },
  async cancelTask() {},
};

async function remoteAgent() {
  const posts: IncomingHttpHeaders[] = [];
  let failNext = 0;
  let hang = false;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      if (req.method === 'GET' && req.url === '/.well-known/agent-card.json') {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify(AgentCard.toJSON(card)));
      }
      posts.push(req.headers);
      if (hang) return; // holds the request open without an answer
      if (failNext > 0) {
        failNext--;
        res.statusCode = 503;
        return res.end('busy');
      }
      const out = await transport.handle(body, new ServerCallContext({ requestedVersion: '1.0' }));
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(out));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const card: AgentCard = {
    name: 'Partner',
    description: 'a partner organisation agent',
    supportedInterfaces: [{ url: `${url}/`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' }],
    provider: undefined,
    version: '1.0.0',
    capabilities: { streaming: false, pushNotifications: false, extensions: [] },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [],
    signatures: [],
  };
  const transport = new JsonRpcTransportHandler(
    new DefaultRequestHandler(card, new InMemoryTaskStore(), executor),
  );
  return {
    url,
    posts,
    failTimes: (n: number) => {
      failNext = n;
    },
    hangs: (on: boolean) => {
      hang = on;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

for (const store of stores) {
  describe(`A2A client on ${store}`, () => {
    let s: TestServer;
    let remote: Awaited<ReturnType<typeof remoteAgent>>;
    let partner: { id: string };
    before(async () => {
      remote = await remoteAgent();
      s = await startServer(store);
    });
    after(async () => {
      await s.close();
      await remote.close();
    });

    /** The tenant's switch, and a credential for the partner's host read from the environment. */
    const allowPrivate = async (on: boolean) => {
      const me = await s.app.services.tenants.find(s.app.defaultTenantId);
      process.env.AGENTRY_TEST_PARTNER_KEY = 'partner-secret';
      const credentials = [{ domain: '127.0.0.1', header: 'X-Partner-Key', env: 'AGENTRY_TEST_PARTNER_KEY' }];
      s.app.services.policies.set({
        tenants: { [me!.name]: { network: { allow_private_egress: on, credentials } } },
      });
    };
    const chat = (agentId: string, message: string, headers?: Record<string, string>) =>
      s.request('POST', `/v1/agents/${agentId}/chat`, { body: { message, stream: false }, headers });
    // The caller's W3C trace context: its trace id is kept and its tracestate passed on unchanged.
    const callerTrace = {
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: 'vendor=opaque-value,other=1',
    };

    it('refuses a loopback card URL until the tenant allows private egress', async () => {
      const refused = await s.request('POST', '/v1/agents', {
        body: { name: 'partner', env: 'a2a', runtime_url: `${remote.url}/` },
      });
      assert.equal(refused.status, 400, refused.text);
      assert.match(refused.text, /runtime_url refused/);
      await allowPrivate(true);
      const made = await s.request('POST', '/v1/agents', {
        body: { name: 'partner', env: 'a2a', runtime_url: `${remote.url}/`, description: 'the partner' },
      });
      assert.equal(made.status, 201, made.text);
      partner = made.body;
    });

    it('delegates a run to the remote agent, with the trace context of the request', async () => {
      const before = remote.posts.length;
      const res = await chat(partner.id, 'hello', callerTrace);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.response.text, 'remote says: hello');
      const sent = remote.posts.slice(before);
      assert.equal(sent.length, 1);
      const traceId = res.headers.get('x-trace-id');
      assert.equal(traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
      assert.match(String(sent[0]!.traceparent), new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
      assert.equal(sent[0]!.tracestate, callerTrace.tracestate);
      assert.equal(sent[0]!['x-partner-key'], 'partner-secret', 'the policy credential for the host');
    });

    it('retries a 503 and reports a failed remote task as a failed run', async () => {
      remote.failTimes(1);
      const before = remote.posts.length;
      const ok = await chat(partner.id, 'again');
      assert.equal(ok.body.response.text, 'remote says: again', ok.text);
      assert.equal(remote.posts.length - before, 2, 'one 503, then the answer');
      const failed = await chat(partner.id, 'please fail');
      assert.equal(failed.status, 502, failed.text);
      assert.match(failed.text, /ended failed/);
    });

    it('is a handoff target in a swarm', async () => {
      const front = await s.request('POST', '/v1/agents', {
        body: { name: 'front', model: 'mock/a2a-front', handoffs: ['partner'] },
      });
      const spec = await s.request('POST', '/v1/multi-agents', {
        body: { name: 'with-partner', kind: 'swarm', members: [front.body.id, partner.id] },
      });
      assert.equal(spec.status, 201, spec.text);
      s.app.services.models.mock.script('a2a-front', [
        { tool_calls: [{ name: 'transfer_to_partner', arguments: { reason: 'theirs' } }] },
      ]);
      const res = await s.request('POST', `/v1/multi-agents/${spec.body.id}/run`, {
        body: { message: 'partner question', stream: false },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.response.text, 'remote says: partner question');
    });

    it('is a tool (a2a__<agent>) that carries the tool call trace', async () => {
      const asker = await s.request('POST', '/v1/agents', {
        body: { name: 'asker', model: 'mock/a2a-asker', tools: ['a2a__partner'] },
      });
      s.app.services.models.mock.script('a2a-asker', [
        { tool_calls: [{ name: 'a2a__partner', arguments: { message: 'ping' } }] },
        { content: 'asked' },
      ]);
      const before = remote.posts.length;
      const res = await chat(asker.body.id, 'ask the partner', callerTrace);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.response.text, 'asked');
      const call = res.body.response.tool_calls[0];
      assert.equal(call.name, 'a2a__partner');
      assert.equal(call.output, 'remote says: ping');
      const traceId = res.headers.get('x-trace-id');
      assert.match(String(remote.posts[before]!.traceparent), new RegExp(`^00-${traceId}-`));
      assert.equal(remote.posts[before]!.tracestate, callerTrace.tracestate);
    });

    it('stops reaching the remote agent when the tenant withdraws private egress', async () => {
      await allowPrivate(false);
      const res = await chat(partner.id, 'hello again');
      assert.equal(res.status, 502, res.text);
      assert.match(res.text, /refused/);
    });
  });
}

describe('A2A remote client breaker', () => {
  it('opens after repeated 5xx and then fails fast without calling the agent', async () => {
    const remote = await remoteAgent();
    try {
      const remotes = new A2ARemotes(
        {
          // The agent answers 503 (a 502 here); a limit a slow machine could pass would make a 504.
          timeout_ms: 30_000,
          max_bytes: 1_000_000,
          retries: { max: 0, base_ms: 1, max_ms: 1 },
          breaker: { failure_threshold: 2, reset_ms: 60_000 },
        },
        async () => true,
      );
      const ask = () =>
        remotes.ask(`${remote.url}/`, 'hi', { tenantId: 't', signal: new AbortController().signal });
      remote.failTimes(100);
      for (let i = 0; i < 2; i++) {
        await assert.rejects(ask(), (e: unknown) => e instanceof AppError && e.code === 'bad_gateway');
      }
      const made = remote.posts.length;
      await assert.rejects(
        ask(),
        (e: unknown) =>
          e instanceof AppError && e.code === 'unavailable' && /circuit breaker is open/.test(e.message),
      );
      assert.equal(remote.posts.length, made, 'no request while the breaker is open');
    } finally {
      await remote.close();
    }
  });
});

describe('A2A remote client timeout', () => {
  it('gives up on a remote agent that does not answer in time, after its retries', async () => {
    const remote = await remoteAgent();
    try {
      const remotes = new A2ARemotes(
        {
          timeout_ms: 300,
          max_bytes: 1_000_000,
          retries: { max: 1, base_ms: 1, max_ms: 1 },
          breaker: { failure_threshold: 10, reset_ms: 60_000 },
        },
        async () => true,
      );
      remote.hangs(true);
      // Two attempts, each ended by its time limit: the client's own count.
      await assert.rejects(
        remotes.ask(`${remote.url}/`, 'hi', { tenantId: 't', signal: new AbortController().signal }),
        (e: unknown) =>
          e instanceof AppError &&
          e.code === 'gateway_timeout' &&
          /timed out after 2 attempt\(s\)/.test(e.message),
      );
      // How many messages the agent took is the machine's speed: an attempt's limit covers fetching
      // the card too, and may pass before the message is sent. Never more than the attempts made.
      assert.ok(remote.posts.length <= 2, `${remote.posts.length} messages`);
    } finally {
      await remote.close();
    }
  });
});
