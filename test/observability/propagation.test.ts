import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
// @ts-expect-error: a plain .mjs fixture (the same SDK server the stdio fixture runs), untyped
import { startHttpMcpServer } from '../fixtures/mcp/http-server.mjs';
import { eventually } from '../helpers/eventually.ts';
import { memoryStore } from '../helpers/pglite-snapshot.ts';
import { FakeUpstream, openai } from '../models/helpers/fake-upstream.ts';
import { OtlpReceiver, type ReceivedSpan, startTracedApp } from './otlp-receiver.ts';

/**
 * W3C Trace Context leaves the process with every call made for a request: model providers, MCP
 * servers (headers and `params._meta`), remote agents and callback receivers each get a
 * `traceparent` naming the span that called them, and the caller's `tracestate` unchanged, also
 * from the worker that runs a task the request enqueued.
 */

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const traceparent = `00-${traceId}-00f067aa0ba902b7-01`;
const tracestate = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7';

interface McpSeen {
  traceparent?: string;
  tracestate?: string;
  method?: string;
  meta?: { traceparent?: string; tracestate?: string };
}

describe('trace context sent to upstreams (fake receivers on loopback)', () => {
  const receiver = new OtlpReceiver();
  const model = new FakeUpstream();
  const remote = new FakeUpstream();
  const hooks = new FakeUpstream();
  let mcp: { url: string; seen: McpSeen[]; close(): Promise<void> };
  let app: Awaited<ReturnType<typeof startTracedApp>>;

  const call = async (method: string, p: string, body?: unknown, traced = false) => {
    const res = await fetch(`${app.url}${p}`, {
      method,
      headers: {
        authorization: `Bearer ${app.adminKey}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...(traced && { traceparent, tracestate }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
  };
  const one = (name: string): ReceivedSpan => {
    const found = receiver.spans.filter((s) => s.traceId === traceId && s.name === name);
    assert.equal(found.length, 1, `one ${name} span`);
    return found[0]!;
  };

  before(async () => {
    await Promise.all([receiver.start(), model.start(), remote.start(), hooks.start()]);
    mcp = await startHttpMcpServer();
    const dir = mkdtempSync(path.join(tmpdir(), 'agentry-propagation-'));
    const tenants = path.join(dir, 'tenants.yaml');
    // The fakes are on loopback: the default tenant may call private addresses.
    writeFileSync(
      tenants,
      'tenants:\n  default:\n    network:\n      allow_private_egress: true\n      allow_private_callbacks: true\n',
    );
    app = await startTracedApp(
      receiver,
      {
        store: memoryStore(),
        tenants_file: tenants,
        ops_team: { seed: false },
        sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 0 } } },
        models: { providers: { up: { type: 'openai', base_url: `${model.url}/v1` } } },
        tasks: { workers: 1, poll_seconds: 0.2 },
      },
      'agentry.role=all',
    );
  });
  after(async () => {
    await app?.stop();
    await Promise.all([receiver.close(), model.close(), remote.close(), hooks.close(), mcp?.close()]);
  });

  it('sends traceparent and the caller’s tracestate to the model provider and the MCP server', async () => {
    const server = await call('POST', '/v1/mcp-servers', { name: 'web', transport: 'http', url: mcp.url });
    assert.equal(server.status, 201, server.text);
    const agent = await call('POST', '/v1/agents', {
      name: 'mcp-user',
      model: 'up/gpt-test',
      tools: ['web__shout'],
    });
    assert.equal(agent.status, 201, agent.text);
    model.answer(
      {
        status: 200,
        body: openai.completion(null, {
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'web__shout', arguments: '{"text":"hi"}' } },
          ],
        }),
      },
      { status: 200, body: openai.completion('It shouted.') },
    );
    const chat = await call(
      'POST',
      `/v1/agents/${agent.body.id}/chat`,
      { message: 'shout', stream: false },
      true,
    );
    assert.equal(chat.status, 200, chat.text);

    const upstreamCalls = model.seen.filter((r) => r.headers.traceparent?.includes(traceId));
    assert.equal(upstreamCalls.length, 2);
    for (const r of upstreamCalls) assert.equal(r.headers.tracestate, tracestate);

    await eventually(
      async () => (receiver.spans.some((s) => s.name === 'execute_tool web__shout') ? true : undefined),
      15_000,
      'the tool span to be exported',
    );
    const tool = one('execute_tool web__shout');
    const named = `00-${traceId}-${tool.spanId}-01`;
    const toolCall = mcp.seen.find((r) => r.method === 'tools/call');
    assert.ok(toolCall, 'the MCP server got the call');
    assert.equal(toolCall.traceparent, named, 'the HTTP header names the execute_tool span');
    assert.equal(toolCall.tracestate, tracestate);
    assert.deepEqual(toolCall.meta, { traceparent: named, tracestate }, 'and so does params._meta');
  });

  it('sends them to a remote agent’s runtime, naming the run’s span', async () => {
    remote.answer({ status: 200, body: { output: 'done far away' } });
    const agent = await call('POST', '/v1/agents', { name: 'far', env: 'remote', runtime_url: remote.url });
    assert.equal(agent.status, 201, agent.text);
    const chat = await call(
      'POST',
      `/v1/agents/${agent.body.id}/chat`,
      { message: 'go', stream: false },
      true,
    );
    assert.equal(chat.status, 200, chat.text);
    assert.equal(remote.seen.length, 1);
    const sent = remote.seen[0]!.headers;
    assert.equal(sent.tracestate, tracestate);
    await eventually(
      async () => (receiver.spans.some((s) => s.name === 'invoke_agent far') ? true : undefined),
      15_000,
      'the run span to be exported',
    );
    assert.equal(sent.traceparent, `00-${traceId}-${one('invoke_agent far').spanId}-01`);
  });

  it('keeps them with a task: the worker’s model call and the callback receiver get them', async () => {
    model.answer({ status: 200, body: openai.completion('Summed up.') });
    hooks.answer({ status: 204, body: '' });
    const agent = await call('POST', '/v1/agents', {
      name: 'tasker',
      model: 'up/gpt-test',
      task_types: [{ name: 'sum' }],
    });
    assert.equal(agent.status, 201, agent.text);
    const before = model.seen.length;
    const task = await call(
      'POST',
      '/v1/tasks',
      { agent_id: agent.body.id, task_type: 'sum', title: 'Sum', callback_url: `${hooks.url}/hook` },
      true,
    );
    assert.equal(task.status, 202, task.text);
    await eventually(async () => (hooks.seen.length > 0 ? true : undefined), 20_000, 'the callback');
    const fromWorker = model.seen.slice(before);
    assert.equal(fromWorker.length, 1);
    assert.match(String(fromWorker[0]!.headers.traceparent), new RegExp(`^00-${traceId}-`));
    assert.equal(fromWorker[0]!.headers.tracestate, tracestate, 'stored with the task and restored');

    const hook = hooks.seen[0]!.headers;
    assert.equal(hook.tracestate, tracestate);
    await eventually(
      async () =>
        receiver.spans.some((s) => s.traceId === traceId && s.name === 'POST' && s.kind === 3)
          ? true
          : undefined,
      15_000,
      'the callback span to be exported',
    );
    const span = one('POST');
    assert.equal(hook.traceparent, `00-${traceId}-${span.spanId}-01`, 'names the callback’s CLIENT span');
    assert.equal(span.attributes['http.response.status_code'], 204);
    assert.equal(span.parentSpanId, one('POST /v1/tasks').spanId);
  });
});
