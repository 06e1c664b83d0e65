import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

/**
 * Online evaluators on an ingested app (PUT /v1/services/:service/evaluators): a trace exported to
 * POST /v1/traces becomes a run of the app, and when its root span arrives the evaluators attached
 * to the service score it, as an agent's live runs are scored as they end.
 */

const attach = {
  evaluators: [
    { type: 'regex', name: 'sunny', pattern: '^Sunny' },
    { type: 'tool_called', tool: 'get_weather' },
  ],
  sample_rate: 1,
};

/** An app's GenAI turn, its spans kept back so a test can export them in the batches it picks. */
function turn(service: string, answer: string) {
  const spans: ReadableSpan[] = [];
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [
      new SimpleSpanProcessor({
        export: (s, done) => {
          spans.push(...s);
          done({ code: 0 });
        },
        shutdown: async () => {},
      }),
    ],
  });
  const tracer = provider.getTracer('test-app');
  const t0 = Date.now() - 10;
  const root = tracer.startSpan('invoke_agent travel', {
    startTime: t0,
    attributes: {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.input.messages': JSON.stringify([
        { role: 'user', parts: [{ type: 'text', content: 'Weather?' }] },
      ]),
      'gen_ai.output.messages': JSON.stringify([
        { role: 'assistant', parts: [{ type: 'text', content: answer }] },
      ]),
    },
  });
  const parent = trace.setSpan(context.active(), root);
  tracer
    .startSpan(
      'chat gpt-4o-mini',
      {
        startTime: t0 + 1,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'gpt-4o-mini',
          'gen_ai.usage.input_tokens': 10,
          'gen_ai.usage.output_tokens': 5,
        },
      },
      parent,
    )
    .end(t0 + 2);
  tracer
    .startSpan(
      'execute_tool get_weather',
      {
        startTime: t0 + 3,
        attributes: {
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': 'get_weather',
          'gen_ai.tool.call.arguments': '{"city":"Bern"}',
        },
      },
      parent,
    )
    .end(t0 + 4);
  root.end(t0 + 5);
  return { traceId: root.spanContext().traceId, children: spans.slice(0, 2), root: spans.slice(2) };
}

for (const store of stores) {
  describe(`online evaluators of an ingested app (${store})`, () => {
    let s: TestServer;
    let exporter: OTLPTraceExporter;
    before(async () => {
      s = await startServer(store);
      exporter = new OTLPTraceExporter({
        url: `${s.url}/v1/traces`,
        headers: { authorization: `Bearer ${s.adminKey}` },
      });
    });
    after(async () => {
      await exporter?.shutdown();
      await s?.close();
    });

    const send = (spans: ReadableSpan[]) =>
      new Promise<void>((resolve, reject) =>
        exporter.export(spans, (r) =>
          r.code === 0 ? resolve() : reject(r.error ?? new Error('export failed')),
        ),
      );

    const runOf = async (service: string, traceId: string): Promise<string> => {
      const list = await s.request('GET', `/v1/runs?service=${service}`);
      assert.equal(list.status, 200, list.text);
      const run = list.body.data.find((r: { trace_id: string }) => r.trace_id === traceId);
      assert.ok(run, list.text);
      return run.id;
    };

    const scoresOf = async (runId: string, count: number) =>
      eventually(async () => {
        const res = await s.request('GET', `/v1/runs/${runId}/scores`);
        return res.body.data.length >= count ? res.body.data : undefined;
      });

    it('attaches, reads and removes evaluators by service name', async () => {
      const path = '/v1/services/weather-app/evaluators';
      assert.equal((await s.request('GET', path)).status, 404);
      const put = await s.request('PUT', path, { body: attach });
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body.service, 'weather-app');
      assert.equal(put.body.sample_rate, 1);
      assert.equal((await s.request('GET', path)).body.evaluators.length, 2);
      const bad = await s.request('PUT', path, { body: { evaluators: [{ type: 'nope' }] } });
      assert.equal(bad.status, 400, bad.text);
      assert.equal((await s.request('DELETE', path)).status, 204);
      assert.equal((await s.request('DELETE', path)).status, 404);
    });

    it('a named evaluator an app scores with is not deleted from under it', async () => {
      const made = await s.request('POST', '/v1/evaluators', {
        body: { name: 'answers-json', spec: { type: 'json_valid' } },
      });
      assert.equal(made.status, 201, made.text);
      const put = await s.request('PUT', '/v1/services/shop-app/evaluators', {
        body: { evaluators: [{ ref: 'answers-json' }] },
      });
      assert.equal(put.status, 200, put.text);
      const refused = await s.request('DELETE', '/v1/evaluators/answers-json');
      assert.equal(refused.status, 409, refused.text);
      assert.deepEqual(refused.body.error.details.used_by, [
        { kind: 'service', id: 'shop-app', name: 'shop-app', how: 'scores its ingested runs' },
      ]);
      assert.equal((await s.request('DELETE', '/v1/services/shop-app/evaluators')).status, 204);
      assert.equal((await s.request('DELETE', '/v1/evaluators/answers-json')).status, 204);
    });

    it("scores the app's run once its trace's root arrives, once however often it is sent", async () => {
      const put = await s.request('PUT', '/v1/services/travel-app/evaluators', { body: attach });
      assert.equal(put.status, 200, put.text);

      const first = turn('travel-app', 'Sunny, 21°C.');
      await send(first.children);
      await send(first.root);
      const runId = await runOf('travel-app', first.traceId);
      const scores = await scoresOf(runId, 2);
      const by = Object.fromEntries(scores.map((x: { name: string }) => [x.name, x]));
      assert.equal(by.sunny.value, 1);
      assert.equal(by.sunny.source, 'evaluator');
      assert.equal(by.tool_called.value, 1, JSON.stringify(by.tool_called));

      // A retried export of the whole trace ends nothing new; a later trace is scored after it.
      await send([...first.children, ...first.root]);
      const second = turn('travel-app', 'Rain all day.');
      await send([...second.children, ...second.root]);
      const later = await scoresOf(await runOf('travel-app', second.traceId), 2);
      assert.equal(later.find((x: { name: string }) => x.name === 'sunny').value, 0);
      const again = await s.request('GET', `/v1/runs/${runId}/scores`);
      assert.equal(again.body.data.length, 2, again.text);
    });
  });
}
