import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OpenAIInstrumentation } from '@arizeai/openinference-instrumentation-openai';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import OpenAI from 'openai';
import { eventually } from '../helpers/eventually.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/**
 * A real OpenInference app: the `openai` client instrumented by
 * @arizeai/openinference-instrumentation-openai, calling Agentry's gateway, its spans exported by
 * OpenTelemetry's OTLP exporter to Agentry's /v1/traces. The call must come out as a run of the app
 * with its LLM step: the model, the tokens the gateway counted, the prompt and the answer.
 */
describe('OTLP ingest of an app instrumented by OpenInference (openai client)', () => {
  let s: TestServer;
  let provider: BasicTracerProvider;
  let client: OpenAI;
  before(async () => {
    s = await startServer('pglite');
    provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'oi-app' }),
      spanProcessors: [
        new SimpleSpanProcessor(
          new OTLPTraceExporter({
            url: `${s.url}/v1/traces`,
            headers: { authorization: `Bearer ${s.adminKey}` },
          }),
        ),
      ],
    });
    const instrumentation = new OpenAIInstrumentation({ tracerProvider: provider });
    instrumentation.manuallyInstrument(OpenAI);
    client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
  });
  after(async () => {
    await provider?.shutdown();
    await s?.close();
  });

  it('the chat completion is a run of the app with its LLM step, tokens and prompt', async () => {
    const answer = await client.chat.completions.create({
      model: 'mock/default',
      messages: [{ role: 'user', content: 'Which platform for Zurich?' }],
    });
    assert.equal(answer.choices[0]!.message.content, 'You said: Which platform for Zurich?');
    await provider.forceFlush();

    const run = await eventually(async () => {
      const list = await s.request('GET', '/v1/runs?service=oi-app');
      assert.equal(list.status, 200, list.text);
      return list.body.data[0];
    });
    assert.equal(run.service_name, 'oi-app');
    assert.equal(run.status, 'completed');
    assert.equal(run.input, 'Which platform for Zurich?');
    assert.equal(run.output, 'You said: Which platform for Zurich?');
    assert.equal(run.model_calls, 1);
    assert.deepEqual(run.usage, {
      prompt_tokens: answer.usage!.prompt_tokens,
      completion_tokens: answer.usage!.completion_tokens,
      total_tokens: answer.usage!.prompt_tokens + answer.usage!.completion_tokens,
    });
    assert.ok(run.usage.total_tokens > 0);

    const steps = (await s.request('GET', `/v1/runs/${run.id}`)).body.steps;
    assert.equal(steps.length, 1, JSON.stringify(steps));
    assert.equal(steps[0].kind, 'model');
    assert.equal(steps[0].name, 'mock/default');
    assert.match(JSON.stringify(steps[0].input), /Which platform for Zurich\?/);
  });
});
