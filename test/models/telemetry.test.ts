import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { metrics, trace } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { startServer, type TestServer } from '../helpers/server.ts';

describe('model call spans and metrics (GenAI semantic conventions)', () => {
  const spans = new InMemorySpanExporter();
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 60_000,
  });
  let s: TestServer;
  before(async () => {
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
    );
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    s = await startServer('pglite');
  });
  after(() => s.close());

  it('records a chat span with model, provider, usage and the caller’s trace', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await s.request('POST', '/v1/chat/completions', {
      body: { model: 'mock/default', max_tokens: 50, messages: [{ role: 'user', content: '2+2' }] },
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, 'x-request-id': 'req-otel-1' },
    });
    assert.equal(res.status, 200);
    const span = spans.getFinishedSpans().find((x) => x.attributes['agentry.request_id'] === 'req-otel-1');
    assert.ok(span, 'a span for the call');
    assert.equal(span.name, 'chat mock/default');
    assert.equal(span.spanContext().traceId, traceId);
    assert.equal(span.parentSpanContext?.spanId, '00f067aa0ba902b7');
    const a = span.attributes;
    assert.equal(a['gen_ai.operation.name'], 'chat');
    assert.equal(a['gen_ai.provider.name'], 'mock');
    assert.equal(a['gen_ai.request.model'], 'mock/default');
    // The provider's own name for the model that answered, as its answer gives it.
    assert.equal(a['gen_ai.response.model'], 'default');
    assert.equal(a['gen_ai.request.max_tokens'], 50);
    assert.equal(a['gen_ai.usage.input_tokens'], res.body.usage.prompt_tokens);
    assert.equal(a['gen_ai.usage.output_tokens'], res.body.usage.completion_tokens);
    assert.deepEqual(a['gen_ai.response.finish_reasons'], ['stop']);
  });

  it('records time to first chunk for streams, and error.type for failures', async () => {
    const res = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${s.adminKey}`,
        'content-type': 'application/json',
        'x-request-id': 'req-otel-2',
      },
      body: JSON.stringify({
        model: 'mock/default',
        stream: true,
        messages: [{ role: 'user', content: 'a b c d e f' }],
      }),
    });
    await res.text();
    const span = spans.getFinishedSpans().find((x) => x.attributes['agentry.request_id'] === 'req-otel-2');
    assert.ok(span);
    assert.equal(typeof span.attributes['gen_ai.response.time_to_first_chunk'], 'number');
    assert.ok(span.events.some((e) => e.name === 'gen_ai.first_chunk'));

    const failed = await s.request('POST', '/v1/chat/completions', {
      body: { model: 'nobody/x', messages: [{ role: 'user', content: 'x' }] },
      headers: { 'x-request-id': 'req-otel-3' },
    });
    assert.equal(failed.status, 404);

    await reader.forceFlush();
    const names = metricExporter
      .getMetrics()
      .flatMap((r) => r.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.descriptor.name)));
    assert.ok(names.includes('gen_ai.client.operation.duration'));
    assert.ok(names.includes('gen_ai.client.token.usage'));
    assert.ok(names.includes('gen_ai.client.operation.time_to_first_chunk'));
  });

  it('records the messages and the answer only when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true', async () => {
    process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = 'true';
    let capturing: TestServer | undefined;
    try {
      capturing = await startServer('pglite');
      const messages = [{ role: 'user', content: 'say hello' }];
      const res = await capturing.request('POST', '/v1/chat/completions', {
        body: { model: 'mock/default', messages },
        headers: { 'x-request-id': 'req-otel-content-1' },
      });
      assert.equal(res.status, 200, res.text);
      const span = spans
        .getFinishedSpans()
        .find((x) => x.attributes['agentry.request_id'] === 'req-otel-content-1');
      assert.ok(span);
      assert.deepEqual(JSON.parse(String(span.attributes['gen_ai.input.messages'])), messages);
      const [out] = JSON.parse(String(span.attributes['gen_ai.output.messages']));
      assert.equal(out.role, 'assistant');
      assert.equal(out.content, res.body.choices[0].message.content);
      assert.equal(out.finish_reason, 'stop');

      const streamed = await fetch(`${capturing.url}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${capturing.adminKey}`,
          'content-type': 'application/json',
          'x-request-id': 'req-otel-content-2',
        },
        body: JSON.stringify({ model: 'mock/default', stream: true, messages }),
      });
      let text = '';
      for (const frame of (await streamed.text()).split('\n\n')) {
        const data = frame.replace(/^data: /, '');
        if (data && data !== '[DONE]') text += JSON.parse(data).choices[0]?.delta?.content ?? '';
      }
      const streamSpan = spans
        .getFinishedSpans()
        .find((x) => x.attributes['agentry.request_id'] === 'req-otel-content-2');
      assert.ok(streamSpan);
      assert.ok(text.length > 0);
      assert.equal(JSON.parse(String(streamSpan.attributes['gen_ai.output.messages']))[0].content, text);
    } finally {
      delete process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT;
      await capturing?.close();
    }
    // The server started without the variable records neither.
    const plain = spans.getFinishedSpans().find((x) => x.attributes['agentry.request_id'] === 'req-otel-1');
    assert.equal(plain?.attributes['gen_ai.input.messages'], undefined);
    assert.equal(plain?.attributes['gen_ai.output.messages'], undefined);
  });
});
