/**
 * A2A as the specs write it, checked with both SDK majors as clients (@a2a-js/sdk 1.x, and 0.3.14
 * as `a2a-sdk-03`): the card for 0.3 and 1.0 clients, discovery at the server's root and under an
 * endpoint given without its trailing slash, the stream closing at the terminal state, ListTasks,
 * and JSON-RPC 2.0's error codes (§5.1) for bodies that are not requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TaskState } from '@a2a-js/sdk';
import {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from '@a2a-js/sdk/client';
import {
  ClientFactory as ClientFactory03,
  DefaultAgentCardResolver as DefaultAgentCardResolver03,
  JsonRpcTransportFactory as JsonRpc03,
} from 'a2a-sdk-03/client';
import { startServer, type TestServer } from '../helpers/server.ts';

const keyed = (key: string): typeof fetch =>
  ((input: string | URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${key}`);
    return fetch(input, { ...init, headers });
  }) as typeof fetch;

describe('A2A protocol conformance', () => {
  let s: TestServer;
  let agent: { id: string };
  const rpc = (body: unknown, headers: Record<string, string> = {}) =>
    s.request('POST', `/a2a/${agent.id}`, { body, headers });
  const send = (text: string, extra: Record<string, unknown> = {}) =>
    rpc(
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'SendMessage',
        params: {
          message: { messageId: crypto.randomUUID(), role: 'ROLE_USER', parts: [{ text }], ...extra },
        },
      },
      { 'a2a-version': '1.0' },
    );

  before(async () => {
    s = await startServer('pglite');
    const r = await s.request('POST', '/v1/agents', {
      body: { name: 'conformant', description: 'answers', visibility: 'public' },
    });
    assert.equal(r.status, 201, r.text);
    agent = r.body;
  });
  after(() => s.close());

  it('serves a 0.3 client the 0.3 card, and the 0.3 SDK sends, streams and reads through it', async () => {
    const card = await s.request('GET', `/a2a/${agent.id}/.well-known/agent-card.json`, { key: null });
    assert.equal(card.status, 200, card.text);
    // The fields the 0.3.0 JSON schema requires, and security schemes with their type.
    assert.equal(card.body.protocolVersion, '0.3.0');
    assert.equal(card.body.url, `${s.url}/a2a/${agent.id}/`);
    assert.equal(card.body.preferredTransport, 'JSONRPC');
    assert.equal(card.body.securitySchemes.api_key.type, 'apiKey');
    assert.equal(card.body.securitySchemes.api_key.in, 'header');
    assert.equal(card.body.securitySchemes.bearer.type, 'http');
    assert.ok(Array.isArray(card.body.supportedInterfaces), "1.0's interfaces ride along");

    const factory = new ClientFactory03({ transports: [new JsonRpc03({ fetchImpl: keyed(s.adminKey) })] });
    // The endpoint URL as the card names it (with its slash: the SDK resolves the well-known path against it).
    const client = await factory.createFromUrl(card.body.url);
    const message = (text: string) => ({
      message: {
        kind: 'message' as const,
        messageId: crypto.randomUUID(),
        role: 'user' as const,
        parts: [{ kind: 'text' as const, text }],
      },
    });
    const task = await client.sendMessage(message('hello from 0.3'));
    assert.equal(task.kind, 'task');
    assert.equal((task as { status: { state: string } }).status.state, 'completed');
    const got = await client.getTask({ id: (task as { id: string }).id });
    assert.equal(got.id, (task as { id: string }).id);
    const kinds: string[] = [];
    let lastState = '';
    for await (const e of client.sendMessageStream(message('stream please'))) {
      kinds.push(e.kind);
      if (e.kind === 'status-update') lastState = e.status.state;
    }
    assert.equal(kinds[0], 'task');
    assert.equal(kinds.at(-1), 'status-update', kinds.join());
    assert.equal(kinds.at(-2), 'artifact-update', kinds.join());
    assert.equal(lastState, 'completed');
  });

  it('serves a 1.0 client (A2A-Version: 1.0) the 1.0 card, as protobuf JSON', async () => {
    const card = await s.request('GET', `/a2a/${agent.id}/.well-known/agent-card.json`, {
      key: null,
      headers: { 'a2a-version': '1.0' },
    });
    assert.equal(card.body.supportedInterfaces[0].url, `${s.url}/a2a/${agent.id}/`);
    assert.equal(card.body.securitySchemes.api_key.apiKeySecurityScheme.location, 'header');
    assert.equal(card.body.url, undefined);
    assert.match(String(card.headers.get('vary')), /a2a-version/);
  });

  it("answers the root and a slash-less endpoint's card URL with a 404 that lists the agents' cards", async () => {
    for (const path of ['/.well-known/agent-card.json', '/a2a/.well-known/agent-card.json']) {
      for (const version of [{ 'a2a-version': '1.0' }, {}] as Array<Record<string, string>>) {
        const r = await s.request('GET', path, { key: null, headers: version });
        assert.equal(r.status, 404, r.text);
        assert.equal(r.body.error.code, 'not_found');
        assert.match(r.body.error.message, /a2a\.root_agent \(AGENTRY_A2A_ROOT_AGENT\)/);
        assert.ok(r.body.request_id);
        const listed = r.body.error.details.agents.find((a: { id: string }) => a.id === agent.id);
        assert.equal(listed.card, `${s.url}/a2a/${agent.id}/.well-known/agent-card.json`);
        assert.equal(listed.endpoint, `${s.url}/a2a/${agent.id}/`);
        // The pointer leads to a card a client can use.
        const card = await fetch(listed.card, { headers: version });
        assert.equal(card.status, 200);
        const body = (await card.json()) as { supportedInterfaces: Array<{ url: string }> };
        assert.equal(body.supportedInterfaces[0]?.url, listed.endpoint);
      }
    }
  });

  it("has both SDKs' resolvers see no card at the root, and still resolve each agent's", async () => {
    const root = `${s.url}/`;
    await assert.rejects(new DefaultAgentCardResolver().resolve(root), /404/);
    await assert.rejects(new DefaultAgentCardResolver03().resolve(root), /404/);
    // Given the endpoint without its slash, the resolvers look under /a2a/: a 404 too, not a card without an endpoint.
    await assert.rejects(new DefaultAgentCardResolver().resolve(`${s.url}/a2a/${agent.id}`), /404/);
    const card = await new DefaultAgentCardResolver().resolve(`${s.url}/a2a/${agent.id}/`);
    assert.equal(card.supportedInterfaces[0]?.url, `${s.url}/a2a/${agent.id}/`);
    const card03 = await new DefaultAgentCardResolver03().resolve(`${s.url}/a2a/${agent.id}/`);
    assert.equal(card03.url, `${s.url}/a2a/${agent.id}/`);
    const client = await new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new JsonRpcTransportFactory({ fetchImpl: keyed(s.adminKey) })],
      }),
    ).createFromUrl(`${s.url}/a2a/${agent.id}/`);
    const answer = await client.sendMessage({
      message: {
        messageId: crypto.randomUUID(),
        role: 1,
        parts: [{ content: { $case: 'text', value: 'What is 2+2?' } }],
      },
    } as never);
    assert.equal((answer as { status?: { state?: number } }).status?.state, TaskState.TASK_STATE_COMPLETED);
  });

  it('answers JSON-RPC 2.0 errors: -32700 for text that is not JSON, -32600 for a body that is not a request', async () => {
    const malformed = await rpc('{"jsonrpc": "2.0", "method": "SendMessage"');
    assert.equal(malformed.status, 200, malformed.text);
    assert.equal(malformed.body.error.code, -32700);
    assert.equal(malformed.body.id, null);
    for (const body of [
      { jsonrpc: '1.0', id: 1, method: 'GetTask', params: {} },
      { jsonrpc: '2.0', id: 2, params: {} },
      { jsonrpc: '2.0', id: { bad: 'type' }, method: 'GetTask', params: {} },
      [1, 2],
    ]) {
      const r = await rpc(body, { 'a2a-version': '1.0' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.error.code, -32600, JSON.stringify(body));
    }
    const unknown = await rpc({ jsonrpc: '2.0', id: 3, method: 'NoSuchMethod', params: {} });
    assert.equal(unknown.body.error.code, -32601, 'a 1.0 name without the header is read as 1.0');
  });

  it('ListTasks: newest first, filtered, paged, and -32602 for bad arguments', async () => {
    const first = await send('one');
    const contextId = first.body.result.task.contextId;
    await send('two', { contextId });
    await send('three');
    const list = (params: Record<string, unknown>) =>
      rpc({ jsonrpc: '2.0', id: 9, method: 'ListTasks', params }, { 'a2a-version': '1.0' });
    const all = await list({});
    assert.ok(all.body.result.totalSize >= 3, all.text);
    const times = all.body.result.tasks.map((t: { status: { timestamp: string } }) => t.status.timestamp);
    assert.deepEqual(times, [...times].sort().reverse());
    assert.ok(
      all.body.result.tasks.every((t: { artifacts?: unknown[] }) => !t.artifacts?.length),
      'no artifacts unless asked',
    );
    const inContext = await list({ contextId, includeArtifacts: true });
    assert.equal(inContext.body.result.tasks.length, 2);
    assert.ok(inContext.body.result.tasks[0].artifacts.length > 0);
    const page = await list({ pageSize: 1 });
    assert.equal(page.body.result.tasks.length, 1);
    const next = await list({ pageSize: 1, pageToken: page.body.result.nextPageToken });
    assert.notEqual(next.body.result.tasks[0].id, page.body.result.tasks[0].id);
    const done = await list({ status: 'TASK_STATE_COMPLETED', historyLength: 0 });
    assert.ok(
      done.body.result.tasks.every(
        (t: { status: { state: string }; history?: unknown[] }) =>
          t.status.state === 'TASK_STATE_COMPLETED' && !t.history?.length,
      ),
    );
    const none = await list({ status: 'TASK_STATE_WORKING' });
    assert.deepEqual(none.body.result.tasks, [], 'an empty list is a list');
    for (const params of [
      { pageSize: 0 },
      { pageSize: 101 },
      { pageSize: -1 },
      { historyLength: -1 },
      { pageToken: 'nope' },
      { statusTimestampAfter: 'yesterday' },
    ]) {
      const r = await list(params);
      assert.equal(r.body.error?.code, -32602, `${JSON.stringify(params)}: ${r.text}`);
    }
    // A 1.0 name reaches ListTasks without the header too; 0.3 has no list method.
    const bare = await rpc({ jsonrpc: '2.0', id: 10, method: 'ListTasks', params: { pageSize: 2 } });
    assert.equal(bare.body.result.tasks.length, 2, bare.text);
    assert.equal(bare.body.result.pageSize, 2);
  });

  it('-32602 for a message without its messageId or role, and for a negative GetTask historyLength', async () => {
    const bare = await rpc(
      {
        jsonrpc: '2.0',
        id: 11,
        method: 'SendMessage',
        params: { message: { role: 'ROLE_USER', parts: [{ text: 'no id' }] } },
      },
      { 'a2a-version': '1.0' },
    );
    assert.equal(bare.body.error?.code, -32602, bare.text);
    assert.match(bare.body.error.message, /messageId/);
    const roleless = await rpc(
      {
        jsonrpc: '2.0',
        id: 13,
        method: 'SendMessage',
        params: { message: { messageId: crypto.randomUUID(), parts: [{ text: 'no role' }] } },
      },
      { 'a2a-version': '1.0' },
    );
    assert.equal(roleless.body.error?.code, -32602, roleless.text);
    const task = (await send('history')).body.result.task;
    const got = await rpc(
      { jsonrpc: '2.0', id: 12, method: 'GetTask', params: { id: task.id, historyLength: -1 } },
      { 'a2a-version': '1.0' },
    );
    assert.equal(got.body.error?.code, -32602, got.text);
  });

  it('subscribing to a task that does not exist is an event stream carrying the error', async () => {
    const res = await fetch(`${s.url}/a2a/${agent.id}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${s.adminKey}`,
        'content-type': 'application/json',
        'a2a-version': '1.0',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 4,
        method: 'SubscribeToTask',
        params: { id: '00000000-0000-7000-8000-000000000000' },
      }),
    });
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get('content-type')), /text\/event-stream/);
    const text = await res.text();
    assert.match(text, /"code":-32001/);
  });

  it('a 401 from /mcp names the Bearer scheme', async () => {
    const bare = await s.request('POST', '/mcp', { key: null, body: {} });
    assert.equal(bare.status, 401);
    assert.match(String(bare.headers.get('www-authenticate')), /^Bearer realm="agentry"/);
    assert.doesNotMatch(String(bare.headers.get('www-authenticate')), /error="/);
    const wrong = await s.request('POST', '/mcp', { key: 'agk_0000000000_nope', body: {} });
    assert.equal(wrong.status, 401);
    assert.match(String(wrong.headers.get('www-authenticate')), /error="invalid_token"/);
  });
});
