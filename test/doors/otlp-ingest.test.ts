import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createOpenAI } from '@ai-sdk/openai';
import { context, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { generateText, stepCountIs, tool } from 'ai';
import { z } from 'zod';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

/**
 * OTLP ingest (POST /v1/traces) with the exporters apps use: OpenTelemetry's own protobuf and JSON
 * exporters configured by the standard environment variables, the AI SDK's telemetry of a real
 * tool loop against Agentry's gateway, and an OpenInference span set as JSON. Each trace must come
 * out as one run of the key's tenant, in the listing and the trace view, that scores and datasets take.
 */

const PRICES = { 'openai/gpt-4o-mini': { input: 0.15, output: 0.6 } };

/** A Node app's tracer provider exporting through `exporter`, each span as it ends. */
function app(service: string, exporter: SpanExporter) {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  return {
    tracer: provider.getTracer('test-app'),
    flush: () => provider.forceFlush(),
    close: () => provider.shutdown(),
  };
}

/** The standard exporter settings, as an app's deployment sets them, read when the exporter is made. */
function withOtelEnv<T>(s: TestServer, make: () => T, extra: Record<string, string> = {}): T {
  const vars: Record<string, string> = {
    OTEL_EXPORTER_OTLP_ENDPOINT: s.url,
    OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer ${s.adminKey}`,
    ...extra,
  };
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return make();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

function child<T>(
  tracer: ReturnType<typeof app>['tracer'],
  name: string,
  parent: Span,
  fn: (span: Span) => T,
  startTime?: number,
): T {
  return tracer.startActiveSpan(name, { startTime }, traceContext(parent), (span) => {
    try {
      return fn(span);
    } finally {
      span.end();
    }
  });
}

const traceContext = (parent: Span) => trace.setSpan(context.active(), parent);

/** The GenAI conventions' agent turn: a chat call, a tool call and a failed tool call. */
function genAiTurn(tracer: ReturnType<typeof app>['tracer']): string {
  // The calls of a real turn are milliseconds apart. The SDK's clock counts whole milliseconds and a
  // SimpleSpanProcessor's exports race, so calls begun in one millisecond would have no order to keep.
  const t0 = Date.now() - 10;
  const root = tracer.startSpan('invoke_agent travel', {
    startTime: t0,
    attributes: {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.input.messages': JSON.stringify([
        { role: 'user', parts: [{ type: 'text', content: 'Weather in Bern?' }] },
      ]),
      'gen_ai.output.messages': JSON.stringify([
        { role: 'assistant', parts: [{ type: 'text', content: 'Sunny, 21°C.' }] },
      ]),
    },
  });
  child(
    tracer,
    'chat gpt-4o-mini',
    root,
    (span) => {
      span.setAttributes({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.usage.input_tokens': 100,
        'gen_ai.usage.output_tokens': 20,
        'gen_ai.input.messages': JSON.stringify([{ role: 'user', content: 'Weather in Bern?' }]),
      });
    },
    t0 + 1,
  );
  child(
    tracer,
    'execute_tool get_weather',
    root,
    (span) => {
      span.setAttributes({
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': 'get_weather',
        'gen_ai.tool.call.id': 'call_1',
        'gen_ai.tool.call.arguments': '{"city":"Bern"}',
        'gen_ai.tool.call.result': '{"temp":21}',
      });
    },
    t0 + 2,
  );
  child(
    tracer,
    'execute_tool get_news',
    root,
    (span) => {
      span.setAttributes({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'get_news' });
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'news service down' });
    },
    t0 + 3,
  );
  root.end();
  return root.spanContext().traceId;
}

async function runOfTrace(s: TestServer, service: string, traceId: string) {
  const list = await s.request('GET', `/v1/runs?service=${encodeURIComponent(service)}`);
  assert.equal(list.status, 200, list.text);
  const run = list.body.data.find((r: { trace_id: string }) => r.trace_id === traceId);
  assert.ok(run, `a run for trace ${traceId} in ${list.text}`);
  return run;
}

for (const store of stores) {
  describe(`OTLP ingest: POST /v1/traces (${store})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store, { models: { prices: PRICES } } as never);
    });
    after(() => s?.close());

    it('takes the protobuf exporter (gzip) set by the standard env vars: a GenAI trace is a run with steps, tokens, cost and errors', async () => {
      const exporter = withOtelEnv(s, () => new ProtoExporter(), { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' });
      const a = app('travel-app', exporter);
      const traceId = genAiTurn(a.tracer);
      await a.flush();
      await a.close();

      const run = await runOfTrace(s, 'travel-app', traceId);
      assert.equal(run.service_name, 'travel-app');
      assert.equal(run.status, 'completed');
      assert.equal(run.input, 'Weather in Bern?');
      assert.equal(run.output, 'Sunny, 21°C.');
      assert.deepEqual(run.usage, { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 });
      assert.equal(run.model_calls, 1);
      assert.ok(Math.abs(run.cost_usd - (100 * 0.15 + 20 * 0.6) / 1e6) < 1e-12, String(run.cost_usd));
      assert.equal(run.has_error, true);
      assert.ok(run.duration_ms >= 0);

      const tr = await s.request('GET', `/v1/runs/${run.id}/trace`);
      assert.equal(tr.status, 200, tr.text);
      assert.equal(tr.body.trace_id, traceId);
      assert.equal(tr.body.spans[0].name, 'travel-app: invoke_agent travel');
      const steps = tr.body.spans.slice(1);
      assert.deepEqual(
        steps.map((x: { kind: string; name: string; status: string }) => [x.kind, x.name, x.status]),
        [
          ['model', 'gpt-4o-mini', 'ok'],
          ['tool', 'get_weather', 'ok'],
          ['tool', 'get_news', 'error'],
        ],
      );
      assert.deepEqual(steps[1].input, { city: 'Bern' });
      assert.deepEqual(steps[1].output, { temp: 21 });
      assert.equal(steps[1].tool_call_id, 'call_1');
      assert.equal(steps[1].parent_id, steps[0].id);
      assert.equal(steps[2].error, 'news service down');

      // The improve loop takes it like any run: a score, and a dataset item from it.
      const scored = await s.request('POST', `/v1/runs/${run.id}/scores`, {
        body: { name: 'helpful', value: 1 },
      });
      assert.equal(scored.status, 201, scored.text);
      const ds = await s.request('POST', '/v1/datasets', { body: { name: `from-otlp-${store}` } });
      assert.equal(ds.status, 201, ds.text);
      const item = await s.request('POST', `/v1/datasets/${ds.body.id}/items/from-run`, {
        body: { run_id: run.id },
      });
      assert.equal(item.status, 201, item.text);
      assert.equal(item.body.expected, 'Sunny, 21°C.');
      const full = await s.request('GET', `/v1/runs/${run.id}`);
      assert.equal(full.status, 200, full.text);
      assert.equal(full.body.steps.length, 3);
    });

    it('takes the JSON exporter; a trace over several exports is one run, a span sent twice one step', async () => {
      const exporter = withOtelEnv(s, () => new JsonExporter());
      const a = app('split-app', exporter);
      const root = a.tracer.startSpan('ask', { attributes: { 'input.value': 'first question' } });
      child(a.tracer, 'chat', root, (span) =>
        span.setAttributes({ 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 10 }),
      );
      await a.flush();
      const traceId = root.spanContext().traceId;
      const early = await runOfTrace(s, 'split-app', traceId);
      assert.equal(early.model_calls, 1);
      assert.equal(early.input, '', 'no prompt known before the root comes');

      child(a.tracer, 'execute_tool lookup', root, (span) =>
        span.setAttributes({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'lookup' }),
      );
      root.setAttribute('output.value', 'the answer');
      root.end();
      await a.flush();
      await a.close();
      const run = await runOfTrace(s, 'split-app', traceId);
      assert.equal(run.id, early.id);
      assert.equal(run.input, 'first question');
      assert.equal(run.output, 'the answer');
      const steps = (await s.request('GET', `/v1/runs/${run.id}`)).body.steps;
      assert.deepEqual(
        steps.map((x: { kind: string }) => x.kind),
        ['model', 'tool'],
      );

      // The same export again (an exporter's retry): nothing is added.
      const again = await s.request('POST', '/v1/traces', {
        body: openInferenceExport(traceId, 'split-app', false),
      });
      assert.equal(again.status, 200, again.text);
      const twice = await s.request('POST', '/v1/traces', {
        body: openInferenceExport(traceId, 'split-app', false),
      });
      assert.equal(twice.status, 200, twice.text);
      const after2 = (await s.request('GET', `/v1/runs/${run.id}`)).body;
      assert.equal(after2.steps.length, 5, 'three OpenInference steps added once');
    });

    it('puts steps whose exports raced in the order they started, to the microsecond', async () => {
      // A SimpleSpanProcessor sends each span as it ends; two tool calls of one millisecond can arrive
      // the later one first.
      const traceId = 'cd'.repeat(16);
      const base = BigInt(Date.now()) * 1_000_000n;
      const tool = (spanId: string, name: string, us: number) => ({
        traceId,
        spanId,
        parentSpanId: '1111111111111111',
        name,
        kind: 1,
        startTimeUnixNano: String(base + BigInt(us) * 1000n),
        endTimeUnixNano: String(base + BigInt(us + 50) * 1000n),
        attributes: [
          { key: 'gen_ai.operation.name', value: { stringValue: 'execute_tool' } },
          { key: 'gen_ai.tool.name', value: { stringValue: name } },
        ],
        status: {},
      });
      const post = (span: unknown) =>
        s.request('POST', '/v1/traces', {
          body: {
            resourceSpans: [
              {
                resource: { attributes: [{ key: 'service.name', value: { stringValue: 'race-app' } }] },
                scopeSpans: [{ scope: { name: 't' }, spans: [span] }],
              },
            ],
          },
        });
      assert.equal((await post(tool('6666666666666666', 'second', 600))).status, 200);
      assert.equal((await post(tool('5555555555555555', 'first', 100))).status, 200);
      const run = await runOfTrace(s, 'race-app', traceId);
      const steps = (await s.request('GET', `/v1/runs/${run.id}`)).body.steps;
      assert.deepEqual(
        steps.map((x: { name: string }) => x.name),
        ['first', 'second'],
      );
    });

    it('maps OpenInference spans (JSON, gzip): LLM, retriever and tool steps with tokens and documents', async () => {
      const traceId = 'ab'.repeat(16);
      const body = gzipSync(JSON.stringify(openInferenceExport(traceId, 'rag-app', true)));
      const res = await fetch(`${s.url}/v1/traces`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          'x-api-key': s.adminKey,
        },
        body,
      });
      assert.equal(res.status, 200, await res.clone().text());
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      assert.deepEqual(await res.json(), {});
      const run = await runOfTrace(s, 'rag-app', traceId);
      assert.equal(run.input, 'What is OTLP?');
      assert.equal(run.output, 'A protocol.');
      assert.deepEqual(run.usage, { prompt_tokens: 50, completion_tokens: 5, total_tokens: 55 });
      const tr = (await s.request('GET', `/v1/runs/${run.id}/trace`)).body;
      const steps = tr.spans.slice(1);
      assert.deepEqual(
        steps.map((x: { kind: string; name: string }) => [x.kind, x.name]),
        [
          ['retrieval', 'docs'],
          ['model', 'gpt-4o-mini'],
          ['tool', 'calculator'],
        ],
      );
      assert.equal(steps[0].output.documents[0].content, 'OTLP is a protocol.');
      assert.deepEqual(steps[1].input, [{ role: 'user', content: 'What is OTLP?' }]);
    });

    it("records the AI SDK's telemetry of a tool loop run against Agentry's gateway", async () => {
      // The AI SDK parents its spans through the active context, as an app's OpenTelemetry setup
      // provides it (NodeSDK registers this manager); without one each span would be a trace of its own.
      const manager = new AsyncLocalStorageContextManager().enable();
      const ours = context.setGlobalContextManager(manager);
      after(() => {
        if (ours) context.disable();
      });
      const exporter = withOtelEnv(s, () => new ProtoExporter());
      const a = app('ai-sdk-app', exporter);
      const provider = createOpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey });
      const { text } = await generateText({
        model: provider.chat('mock/default'),
        tools: {
          get_weather: tool({
            description: 'Weather for a city',
            inputSchema: z.object({ city: z.string() }),
            execute: async ({ city }) => `sunny in ${city}`,
          }),
        },
        stopWhen: stepCountIs(3),
        prompt: 'use get_weather for "Bern"',
        maxRetries: 0,
        experimental_telemetry: { isEnabled: true, tracer: a.tracer, functionId: 'weather' },
      });
      await a.flush();
      await a.close();
      const list = (await s.request('GET', '/v1/runs?service=ai-sdk-app')).body.data;
      assert.equal(list.length, 1, JSON.stringify(list));
      const run = list[0];
      assert.equal(run.input, 'use get_weather for "Bern"');
      assert.equal(run.output, text);
      assert.equal(run.model_calls, 2);
      assert.ok(run.usage.prompt_tokens > 0);
      const steps = (await s.request('GET', `/v1/runs/${run.id}`)).body.steps;
      assert.deepEqual(
        steps.map((x: { kind: string; name: string }) => [x.kind, x.name]),
        [
          ['model', 'mock/default'],
          ['tool', 'get_weather'],
          ['model', 'mock/default'],
        ],
      );
      assert.deepEqual(steps[1].input, { city: 'Bern' });
      assert.equal(steps[1].output, 'sunny in Bern');
      // Agentry's own gateway calls are runs of no app: the listing shows both side by side.
      const all = (await s.request('GET', '/v1/runs?limit=200')).body.data;
      assert.ok(all.some((r: { id: string }) => r.id === run.id));
    });

    it('answers partial success for spans it cannot take, in JSON and protobuf', async () => {
      const body = openInferenceExport('cd'.repeat(16), 'partial-app', false);
      const spans = body.resourceSpans[0]!.scopeSpans[0]!.spans;
      spans.push({ ...spans[0]!, traceId: 'abc', spanId: '0102' });
      const res = await s.request('POST', '/v1/traces', { body });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.partialSuccess.rejectedSpans, '1');
      assert.match(res.body.partialSuccess.errorMessage, /trace id/);

      // Protobuf: one span with a 3-byte trace id, hand-encoded; the answer is protobuf too.
      const proto = protoExport(Buffer.from('abcdef', 'hex'), Buffer.from('0102030405060708', 'hex'));
      const p = await fetch(`${s.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${s.adminKey}` },
        body: proto,
      });
      assert.equal(p.status, 200);
      assert.equal(p.headers.get('content-type'), 'application/x-protobuf');
      const answer = Buffer.from(await p.arrayBuffer());
      // partial_success (field 1) { rejected_spans (1) = 1, error_message (2) = … }
      assert.equal(answer[0], 0x0a);
      assert.equal(answer[2], 0x08);
      assert.equal(answer[3], 1);
      assert.match(answer.toString('utf8'), /trace id/);
    });

    it('refuses what is not an export with 400, never 500', async () => {
      const post = (body: Uint8Array | string, type: string, extra: Record<string, string> = {}) =>
        fetch(`${s.url}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': type, authorization: `Bearer ${s.adminKey}`, ...extra },
          body,
        });
      const cases: [Uint8Array | string, string, Record<string, string>?][] = [
        ['{not json', 'application/json'],
        ['{"resourceSpans": 5}', 'application/json'],
        ['{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}', 'application/json'],
        ['[1,2]', 'application/json'],
        [Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), 'application/x-protobuf'],
        [Buffer.from([0x0a, 0x05, 0x12, 0x10]), 'application/x-protobuf'],
        [Buffer.from([0x0b]), 'application/x-protobuf'],
        [Buffer.from([0x00, 0x01]), 'application/x-protobuf'],
        ['not gzip', 'application/json', { 'content-encoding': 'gzip' }],
      ];
      for (const [body, type, extra] of cases) {
        const res = await post(body, type, extra);
        const text = await res.text();
        assert.equal(res.status, 400, `${String(body)}: ${text}`);
        assert.ok(JSON.parse(text).error.message, text);
      }
      // Random bytes: each a 400 or a harmless 200 (bytes may happen to read as unknown fields), never a 500.
      let seed = 7;
      const rand = () => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed & 0xff;
      };
      for (let i = 0; i < 40; i++) {
        const bytes = Uint8Array.from({ length: 1 + (rand() % 64) }, rand);
        const res = await post(bytes, 'application/x-protobuf');
        const text = await res.text();
        assert.ok(res.status === 400 || res.status === 200, `${res.status}: ${text}`);
      }
      const wrongType = await post('x', 'text/plain');
      assert.equal(wrongType.status, 415);
      await wrongType.body?.cancel();
    });

    it('needs a key, and bounds the body and the rate', async () => {
      const anon = await s.request('POST', '/v1/traces', { key: null, body: {} });
      assert.equal(anon.status, 401, anon.text);

      const huge = await fetch(`${s.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${s.adminKey}` },
        body: new Uint8Array(5 * 1024 * 1024 + 1),
      });
      assert.equal(huge.status, 413);
      await huge.body?.cancel();

      const { tenantsFileSchema } = await import('../../src/config/tenant-policy.ts');
      s.app.services.policies.set(
        tenantsFileSchema.parse({ tenants: { default: { rate_limits: { spans_per_minute: 4 } } } }),
      );
      // One minute for the whole check: the window cannot turn between the exports.
      const rate = s.app.services.spanRate as unknown as { now: () => number };
      const minute = (Math.floor(Date.now() / 60_000) + 10) * 60_000;
      rate.now = () => minute + 15_000;
      try {
        const three = openInferenceExport('ef'.repeat(16), 'rate-app', false);
        assert.equal((await s.request('POST', '/v1/traces', { body: three })).status, 200);
        const limited = await s.request('POST', '/v1/traces', { body: three });
        assert.equal(limited.status, 429, limited.text);
        assert.equal(limited.headers.get('retry-after'), '45');
        assert.match(limited.body.error.message, /spans_per_minute/);
      } finally {
        rate.now = Date.now;
        s.app.services.policies.set(tenantsFileSchema.parse({}));
      }
    });
  });
}

/** An OpenInference RAG turn as OTLP/JSON: a CHAIN root (when `withRoot`), a retriever, an LLM and a tool. */
function openInferenceExport(traceId: string, service: string, withRoot: boolean) {
  const ns = (ms: number) => String(BigInt(Date.now() + ms) * 1_000_000n);
  const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
  const int = (key: string, v: number) => ({ key, value: { intValue: String(v) } });
  const span = (
    id: string,
    name: string,
    at: number,
    attributes: unknown[],
    parent = '1111111111111111',
  ) => ({
    traceId,
    spanId: id,
    parentSpanId: parent,
    name,
    kind: 1,
    startTimeUnixNano: ns(at),
    endTimeUnixNano: ns(at + 5),
    attributes,
    status: {},
  });
  const spans = [
    span('2222222222222222', 'retrieve', 1, [
      str('openinference.span.kind', 'RETRIEVER'),
      str('retriever.name', 'docs'),
      str('input.value', 'What is OTLP?'),
      str('retrieval.documents.0.document.content', 'OTLP is a protocol.'),
      str('retrieval.documents.0.document.id', 'd1'),
    ]),
    span('3333333333333333', 'llm', 10, [
      str('openinference.span.kind', 'LLM'),
      str('llm.model_name', 'gpt-4o-mini'),
      str('llm.provider', 'openai'),
      str('llm.input_messages.0.message.role', 'user'),
      str('llm.input_messages.0.message.content', 'What is OTLP?'),
      str('output.value', 'A protocol.'),
      int('llm.token_count.prompt', 50),
      int('llm.token_count.completion', 5),
    ]),
    span('4444444444444444', 'calc', 20, [
      str('openinference.span.kind', 'TOOL'),
      str('tool.name', 'calculator'),
      str('input.value', '{"x":1}'),
      str('output.value', '2'),
    ]),
  ];
  if (withRoot)
    spans.push(
      span(
        '1111111111111111',
        'rag',
        0,
        [
          str('openinference.span.kind', 'CHAIN'),
          str('input.value', 'What is OTLP?'),
          str('output.value', 'A protocol.'),
        ],
        '',
      ),
    );
  return {
    resourceSpans: [
      {
        resource: { attributes: [str('service.name', service)] },
        scopeSpans: [{ scope: { name: 'openinference' }, spans }],
      },
    ],
  };
}

/** A protobuf export of one span with the given ids (field numbers of trace.proto). */
function protoExport(traceId: Buffer, spanId: Buffer): Buffer {
  const field = (n: number, body: Buffer) => Buffer.concat([Buffer.from([(n << 3) | 2, body.length]), body]);
  const span = Buffer.concat([field(1, traceId), field(2, spanId), field(5, Buffer.from('s'))]);
  return field(1, field(2, field(2, span)));
}
