import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { freshDatabase } from '../helpers/server.ts';
import { openai } from '../models/helpers/fake-upstream.ts';
import { OtlpReceiver, type ReceivedSpan, startTracedApp, tracedUpstreamSuite } from './otlp-receiver.ts';

const traceId = '0af7651916cd43dd8448eb211c80319c';
const callerSpan = 'b7ad6b7169203331';
const traceparent = `00-${traceId}-${callerSpan}-01`;

async function call(url: string, key: string, method: string, path: string, body?: unknown, headers = {}) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined, text };
}

/** Whether `span` hangs (at any depth) under the span `ancestor`. */
function hangsUnder(spans: ReceivedSpan[], span: ReceivedSpan, ancestor: ReceivedSpan): boolean {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  for (let s: ReceivedSpan | undefined = span, n = 0; s && n < 20; s = byId.get(s.parentSpanId), n++) {
    if (s.parentSpanId === ancestor.spanId) return true;
  }
  return false;
}

const one = (spans: ReceivedSpan[], name: string) => {
  const found = spans.filter((s) => s.name === name);
  assert.equal(found.length, 1, `one ${name} span in ${spans.map((s) => s.name).join(', ')}`);
  return found[0]!;
};

describe('OpenTelemetry export (OTLP/HTTP JSON to a receiver on loopback)', () => {
  const t = tracedUpstreamSuite();
  const { receiver, upstream } = t;

  it('exports a chat with a tool call as one trace: server → invoke_agent → chat, execute_tool, chat', async () => {
    upstream.answer(
      {
        status: 200,
        body: openai.completion(null, {
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'calculator', arguments: '{"expression":"6*7"}' },
            },
          ],
        }),
      },
      { status: 200, body: openai.completion('It is 42.') },
    );
    const agent = await call(t.app.url, t.app.adminKey, 'POST', '/v1/agents', {
      name: 'calc',
      model: 'up/gpt-test',
      tools: ['calculator'],
    });
    assert.equal(agent.status, 201, agent.text);
    const res = await call(
      t.app.url,
      t.app.adminKey,
      'POST',
      `/v1/agents/${agent.body.id}/chat`,
      { message: 'what is 6*7?', stream: false },
      { traceparent },
    );
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('x-trace-id'), traceId);
    assert.ok(res.headers.get('x-request-id'));

    const route = 'POST /v1/agents/:id/chat';
    await eventually(
      async () =>
        receiver.named('chat up/gpt-test').length === 2 && receiver.named(route).length === 1
          ? true
          : undefined,
      15_000,
      'the chat spans to be exported',
    );
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    const server = one(spans, route);
    const invoke = one(spans, 'invoke_agent calc');
    const tool = one(spans, 'execute_tool calculator');
    const chats = spans.filter((s) => s.name === 'chat up/gpt-test');
    assert.equal(chats.length, 2);

    assert.equal(server.parentSpanId, callerSpan, 'the incoming traceparent is honoured');
    assert.equal(server.kind, 2, 'SERVER');
    assert.equal(server.attributes['http.response.status_code'], 200);
    assert.equal(invoke.parentSpanId, server.spanId);
    assert.equal(invoke.attributes['gen_ai.operation.name'], 'invoke_agent');
    assert.equal(invoke.attributes['gen_ai.agent.name'], 'calc');
    for (const c of chats) assert.equal(c.parentSpanId, invoke.spanId);
    assert.equal(tool.parentSpanId, invoke.spanId);

    const first = chats.find(
      (c) => c.attributes['gen_ai.response.finish_reasons']?.toString() === 'tool_calls',
    );
    assert.ok(first, 'the first model call ended in tool calls');
    assert.equal(first.kind, 3, 'CLIENT');
    assert.equal(first.attributes['gen_ai.operation.name'], 'chat');
    assert.equal(first.attributes['gen_ai.provider.name'], 'openai');
    assert.equal(first.attributes['gen_ai.request.model'], 'up/gpt-test');
    // The model the upstream says answered (the fake answers "up-model"), not the one asked for.
    for (const c of chats) assert.equal(c.attributes['gen_ai.response.model'], 'up-model');
    assert.equal(first.attributes['gen_ai.usage.input_tokens'], 11);
    assert.equal(first.attributes['gen_ai.usage.output_tokens'], 7);
    assert.equal(first.attributes['gen_ai.input.messages'], undefined, 'no message content unless asked');
    assert.equal(tool.attributes['gen_ai.tool.name'], 'calculator');
    assert.equal(tool.attributes['gen_ai.tool.call.id'], 'call_1');
    assert.equal(server.resource['service.name'], 'agentry-test');
    assert.equal(server.resource['agentry.role'], 'api');
    assert.deepEqual([...receiver.contentTypes], ['application/json']);

    // The fake model upstream got the trace: the traceparent names the chat span that called it.
    const sent = upstream.seen.map((r) => r.headers.traceparent);
    assert.deepEqual(sent.sort(), chats.map((c) => `00-${traceId}-${c.spanId}-01`).sort());
  });

  it('names the model the upstream answered with on a streamed chat span too', async () => {
    upstream.answer({
      sse: [openai.chunk({ role: 'assistant', content: 'Hi' }), openai.chunk({}, 'stop'), '[DONE]'],
    });
    const streamed = 'abcdef0123456789abcdef0123456789';
    const res = await fetch(`${t.app.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${t.app.adminKey}`,
        'content-type': 'application/json',
        'x-trace-id': streamed,
      },
      body: JSON.stringify({
        model: 'up/gpt-test',
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /\[DONE\]/);
    const span = await eventually(
      async () => receiver.spans.find((s) => s.traceId === streamed && s.name === 'chat up/gpt-test'),
      15_000,
      'the streamed chat span',
    );
    assert.equal(span.attributes['gen_ai.request.model'], 'up/gpt-test');
    assert.equal(span.attributes['gen_ai.response.model'], 'up-model');
  });

  it('records no span of a trace its caller did not sample (flags 00), and tells the model provider so', async () => {
    upstream.answer({ status: 200, body: openai.completion('Nothing to record.') });
    const agent = await call(t.app.url, t.app.adminKey, 'POST', '/v1/agents', {
      name: 'quiet',
      model: 'up/gpt-test',
    });
    assert.equal(agent.status, 201, agent.text);
    const quiet = 'c0ffee00c0ffee00c0ffee00c0ffee00';
    const seen = upstream.seen.length;
    const res = await call(
      t.app.url,
      t.app.adminKey,
      'POST',
      `/v1/agents/${agent.body.id}/chat`,
      { message: 'hello', stream: false },
      { traceparent: `00-${quiet}-${callerSpan}-00` },
    );
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('x-trace-id'), quiet);
    assert.match(
      String(upstream.seen[seen]?.headers.traceparent),
      new RegExp(`^00-${quiet}-[0-9a-f]{16}-00$`),
    );
    // A sampled request after it: once its span is exported, any span of the first would have been.
    const marker = 'feedface00feedface00feedface0000';
    await call(t.app.url, t.app.adminKey, 'GET', '/v1/agents', undefined, { 'x-trace-id': marker });
    await eventually(
      async () => (receiver.spans.some((s) => s.traceId === marker) ? true : undefined),
      15_000,
      'the sampled request span',
    );
    assert.deepEqual(
      receiver.spans.filter((s) => s.traceId === quiet).map((s) => s.name),
      [],
    );
  });

  it('answers errors with X-Request-Id and X-Trace-ID too, and keeps a client X-Trace-ID', async () => {
    const given = '1234567890abcdef1234567890abcdef';
    const res = await call(t.app.url, t.app.adminKey, 'GET', '/v1/runs/not-a-uuid', undefined, {
      'x-trace-id': given,
      'x-request-id': 'client-req-1',
    });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('x-trace-id'), given);
    assert.equal(res.headers.get('x-request-id'), 'client-req-1');
    // A client's mistake is not the server's: the request span is not marked as an error.
    await eventually(
      async () => (receiver.spans.some((s) => s.traceId === given) ? true : undefined),
      15_000,
      'the 400 request span',
    );
    const bad = one(
      receiver.spans.filter((s) => s.traceId === given),
      'GET /v1/runs/:id',
    );
    assert.equal(bad.attributes['http.response.status_code'], 400);
    assert.notEqual(bad.status.code, 2, 'not ERROR');
    const missing = await call(t.app.url, t.app.adminKey, 'GET', '/nothing-here');
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('x-trace-id') ?? '', /^[0-9a-f]{32}$/);
    assert.ok(missing.headers.get('x-request-id'));
  });
});

describe('a task enqueued through the API and run by a worker in another process', {
  skip: !process.env.DATABASE_URL && 'needs DATABASE_URL',
}, () => {
  const receiver = new OtlpReceiver();
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let api: Awaited<ReturnType<typeof startTracedApp>>;
  let worker: Awaited<ReturnType<typeof startTracedApp>>;

  before(async () => {
    await receiver.start();
    db = await freshDatabase();
    const base = {
      store: { database_url: db.url, pool_max: 3 },
      ops_team: { seed: false },
      sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 0 } } },
    };
    api = await startTracedApp(receiver, { ...base, tasks: { workers: 0 } }, 'agentry.role=api');
    worker = await startTracedApp(
      receiver,
      { ...base, tasks: { workers: 1, poll_seconds: 0.2 } },
      'agentry.role=worker',
    );
  });
  after(async () => {
    await api?.stop();
    await worker?.stop();
    await receiver.close();
    await db?.drop();
  });

  it('shares one trace id from the enqueuing request to the worker’s run', async () => {
    const agent = await call(api.url, api.adminKey, 'POST', '/v1/agents', {
      name: 'summarizer',
      task_types: [{ name: 'summarize' }],
    });
    assert.equal(agent.status, 201, agent.text);
    const task = await call(
      api.url,
      api.adminKey,
      'POST',
      '/v1/tasks',
      { agent_id: agent.body.id, task_type: 'summarize', title: 'Sum it', payload: { text: 'hello' } },
      { traceparent },
    );
    assert.equal(task.status, 202, task.text);
    await eventually(
      async () => {
        const t = await call(api.url, api.adminKey, 'GET', `/v1/tasks/${task.body.id}`);
        return t.body.status === 'completed' ? true : undefined;
      },
      20_000,
      'the task to complete',
    );
    await eventually(
      async () => (receiver.named('invoke_agent summarizer').length > 0 ? true : undefined),
      15_000,
      'the worker’s spans to be exported',
    );
    const enqueue = one(receiver.spans, 'POST /v1/tasks');
    const claim = one(receiver.spans, 'claim summarize');
    const execute = one(receiver.spans, 'execute_task summarize');
    const invoke = one(receiver.spans, 'invoke_agent summarizer');
    for (const s of [enqueue, claim, execute, invoke]) assert.equal(s.traceId, traceId, s.name);
    assert.equal(enqueue.resource['agentry.role'], 'api');
    for (const s of [claim, execute, invoke]) assert.equal(s.resource['agentry.role'], 'worker', s.name);
    assert.equal(execute.parentSpanId, enqueue.spanId);
    assert.equal(invoke.parentSpanId, execute.spanId);
    const chat = receiver.spans.find((s) => s.name.startsWith('chat ') && s.parentSpanId === invoke.spanId);
    assert.ok(chat, 'the run’s model call is in the same trace');
    const workerQueries = receiver.spans.filter(
      (s) => s.name.startsWith('pg.query') && s.resource['agentry.role'] === 'worker',
    );
    assert.ok(
      workerQueries.some((s) => s.parentSpanId === invoke.spanId),
      'the run’s own queries hang under its invoke_agent span',
    );
    for (const s of workerQueries)
      assert.ok(hangsUnder(receiver.spans, s, execute), `${s.name} under the task`);

    const runs = await call(api.url, api.adminKey, 'GET', `/v1/runs?task_id=${task.body.id}`);
    assert.equal(runs.body.data.length, 1);
    assert.equal(runs.body.data[0].trace_id, traceId, 'the run trace names the same trace');
  });
});

describe('PostgreSQL and Redis client spans (the official instrumentations)', {
  skip: (!process.env.DATABASE_URL || !process.env.REDIS_URL) && 'needs DATABASE_URL and REDIS_URL',
}, () => {
  const receiver = new OtlpReceiver();
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let app: Awaited<ReturnType<typeof startTracedApp>>;

  before(async () => {
    await receiver.start();
    db = await freshDatabase();
    app = await startTracedApp(
      receiver,
      {
        store: { database_url: db.url, pool_max: 3 },
        redis_url: process.env.REDIS_URL,
        ops_team: { seed: false },
        sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 0 } } },
        tasks: { workers: 0 },
      },
      'agentry.role=api',
    );
  });
  after(async () => {
    await app?.stop();
    await receiver.close();
    await db?.drop();
  });

  const under = (span: ReceivedSpan, ancestor: ReceivedSpan) => hangsUnder(receiver.spans, span, ancestor);

  it('hangs the queries and Redis commands a request makes under its SERVER span', async () => {
    const res = await call(app.url, app.adminKey, 'GET', '/health', undefined, { traceparent });
    assert.ok(res.status === 200 || res.status === 503, res.text);
    await eventually(
      async () => (receiver.spans.some((s) => s.name === 'GET /health') ? true : undefined),
      15_000,
      'the health request span',
    );
    const server = one(receiver.spans, 'GET /health');
    assert.equal(server.parentSpanId, callerSpan);
    assert.equal(server.kind, 2, 'SERVER');
    const inTrace = receiver.spans.filter((s) => s.traceId === traceId);
    const queries = inTrace.filter((s) => s.name.startsWith('pg.query'));
    const redis = inTrace.filter((s) => s.attributes['db.system'] === 'redis' || s.name === 'ping');
    assert.ok(queries.length > 0, `a pg.query span in ${inTrace.map((s) => s.name).join(', ')}`);
    assert.ok(redis.length > 0, `a Redis span in ${inTrace.map((s) => s.name).join(', ')}`);
    for (const s of [...queries, ...redis]) {
      assert.equal(s.kind, 3, `${s.name} is a CLIENT span`);
      assert.ok(under(s, server), `${s.name} hangs under the request`);
    }
  });

  it('gives a request without traceparent the trace id its X-Trace-ID names', async () => {
    const given = 'fedcba9876543210fedcba9876543210';
    const res = await call(app.url, app.adminKey, 'GET', '/v1/agents', undefined, { 'x-trace-id': given });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('x-trace-id'), given);
    await eventually(
      // The request span ends (and is exported) after its queries' spans.
      async () =>
        receiver.spans.some((s) => s.traceId === given && s.name === 'GET /v1/agents') ? true : undefined,
      15_000,
      'the request span',
    );
    const server = one(
      receiver.spans.filter((s) => s.traceId === given),
      'GET /v1/agents',
    );
    assert.equal(server.parentSpanId, '', 'a root span');
    assert.ok(
      receiver.spans.some((s) => s.traceId === given && s.name.startsWith('pg.query') && under(s, server)),
      'its queries are in the same trace',
    );
  });

  it('starts no trace for queries made outside any span (worker polls, LISTEN, sweeps)', () => {
    const roots = receiver.spans.filter((s) => s.parentSpanId === '' && s.name.startsWith('pg.'));
    assert.deepEqual(
      roots.map((s) => s.name),
      [],
    );
  });

  it('makes no connect span per pooled connection checkout, only query spans', () => {
    assert.ok(receiver.spans.some((s) => s.name.startsWith('pg.query')));
    assert.deepEqual(
      receiver.spans.filter((s) => /^pg(-pool)?\.connect/.test(s.name)).map((s) => s.name),
      [],
    );
  });
});
