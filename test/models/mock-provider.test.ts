import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../src/models/gateway.ts';
import type { CallContext, CompletionChunk, ToolSpec } from '../../src/models/types.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

const calculator: ToolSpec = {
  type: 'function',
  function: {
    name: 'calculator',
    description: 'Evaluates an arithmetic expression',
    parameters: { type: 'object', properties: { expression: { type: 'string' } }, required: ['expression'] },
  },
};
const weather: ToolSpec = {
  type: 'function',
  function: {
    name: 'get_weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

async function collect(stream: AsyncIterable<CompletionChunk>): Promise<CompletionChunk[]> {
  const out: CompletionChunk[] = [];
  for await (const c of stream) out.push(c);
  return out;
}

describe('mock provider through services.models', () => {
  let s: TestServer;
  let models: Gateway;
  let ctx: CallContext;
  before(async () => {
    s = await startServer('pglite', { models: { mock: { words_per_chunk: 2 } } });
    models = s.app.services.models;
    ctx = { tenantId: s.app.defaultTenantId, tenantName: 'default', requestId: 'req-mock-1' };
  });
  after(() => s.close());

  it('answers simple arithmetic, reports usage and the full model name', async () => {
    const c = await models.complete(
      { model: 'mock/default', messages: [{ role: 'user', content: 'What is 2 + 3 * (4 - 1)?' }] },
      ctx,
    );
    assert.equal(c.message.content, '11');
    assert.equal(c.finish_reason, 'stop');
    assert.equal(c.model, 'mock/default');
    assert.ok(c.usage.prompt_tokens > 0 && c.usage.completion_tokens > 0);
    assert.equal(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens);
  });

  it('is deterministic: the same request gives the same answer', async () => {
    const req = { model: 'mock/default', messages: [{ role: 'user' as const, content: 'hello there' }] };
    const a = await models.complete(req, ctx);
    const b = await models.complete(req, ctx);
    assert.equal(a.message.content, 'You said: hello there');
    assert.deepEqual(a.message, b.message);
    assert.deepEqual(a.usage, b.usage);
  });

  it('calls the tool the prompt asks for, with arguments from the prompt, then reports its result', async () => {
    const first = await models.complete(
      {
        model: 'mock/default',
        tools: [weather, calculator],
        messages: [{ role: 'user', content: 'Use the calculator tool to work out 12*7' }],
      },
      ctx,
    );
    assert.equal(first.finish_reason, 'tool_calls');
    assert.equal(first.message.content, null);
    const call = first.message.tool_calls?.[0];
    assert.ok(call);
    assert.equal(call.function.name, 'calculator');
    assert.deepEqual(JSON.parse(call.function.arguments), { expression: '12*7' });

    const second = await models.complete(
      {
        model: 'mock/default',
        tools: [weather, calculator],
        messages: [
          { role: 'user', content: 'Use the calculator tool to work out 12*7' },
          first.message,
          { role: 'tool', tool_call_id: call.id, content: '84' },
        ],
      },
      ctx,
    );
    assert.equal(second.finish_reason, 'stop');
    assert.equal(second.message.content, 'The calculator tool returned: 84');
  });

  it('does not call a tool the prompt does not ask for, nor when tool_choice is none', async () => {
    const plain = await models.complete(
      { model: 'mock/default', tools: [weather], messages: [{ role: 'user', content: 'What is 6/4?' }] },
      ctx,
    );
    assert.equal(plain.message.content, '1.5');
    const none = await models.complete(
      {
        model: 'mock/default',
        tools: [weather],
        tool_choice: 'none',
        messages: [{ role: 'user', content: 'call get_weather for "Paris"' }],
      },
      ctx,
    );
    assert.equal(none.message.tool_calls, undefined);
  });

  it('streams text in chunks and ends with exactly one finish carrying usage', async () => {
    const chunks = await collect(
      models.stream(
        { model: 'mock/default', messages: [{ role: 'user', content: 'one two three four five' }] },
        ctx,
      ),
    );
    const text = chunks.filter((c) => c.type === 'text');
    assert.ok(text.length >= 3, `several text chunks, got ${text.length}`);
    assert.equal(
      text.map((c) => (c.type === 'text' ? c.delta : '')).join(''),
      'You said: one two three four five',
    );
    const finishes = chunks.filter((c) => c.type === 'finish');
    assert.equal(finishes.length, 1);
    assert.equal(chunks.at(-1)?.type, 'finish');
    const fin = chunks.at(-1);
    assert.ok(fin?.type === 'finish' && fin.usage.completion_tokens > 0 && fin.model === 'mock/default');
  });

  it('streams tool calls as an id+name fragment followed by argument fragments', async () => {
    const chunks = await collect(
      models.stream(
        {
          model: 'mock/default',
          tools: [weather],
          messages: [{ role: 'user', content: 'please call get_weather for "Paris"' }],
        },
        ctx,
      ),
    );
    const calls = chunks.filter((c) => c.type === 'tool_call');
    assert.ok(calls.length >= 2);
    assert.ok(calls[0]?.type === 'tool_call' && calls[0].id && calls[0].name === 'get_weather');
    const args = calls.map((c) => (c.type === 'tool_call' ? c.arguments_delta : '')).join('');
    assert.deepEqual(JSON.parse(args), { city: 'Paris' });
    const fin = chunks.at(-1);
    assert.ok(fin?.type === 'finish' && fin.finish_reason === 'tool_calls');
  });

  it('plays scripted turns in order, then resumes the default behaviour', async () => {
    models.mock.script('scripted', [
      { content: 'exactly this' },
      { tool_calls: [{ id: 'call_1', name: 'lookup', arguments: { q: 'x' } }] },
    ]);
    const req = { model: 'mock/scripted', messages: [{ role: 'user' as const, content: 'anything' }] };
    const one = await models.complete(req, ctx);
    assert.equal(one.message.content, 'exactly this');
    const two = await models.complete(req, ctx);
    assert.deepEqual(two.message.tool_calls, [
      { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } },
    ]);
    assert.equal(two.finish_reason, 'tool_calls');
    const three = await models.complete(req, ctx);
    assert.equal(three.message.content, 'You said: anything');
  });

  it('truncates at max_tokens with finish_reason length', async () => {
    const c = await models.complete(
      {
        model: 'mock/default',
        max_tokens: 2,
        messages: [{ role: 'user', content: 'a b c d e f g h i j k l' }],
      },
      ctx,
    );
    assert.equal(c.finish_reason, 'length');
    assert.equal(c.usage.completion_tokens, 2);
  });

  it('answers not_found for a model of an unknown provider', async () => {
    await assert.rejects(
      models.complete({ model: 'nope/x', messages: [{ role: 'user', content: 'hi' }] }, ctx),
      (err: Error & { code?: string }) => err.code === 'not_found' && /nope/.test(err.message),
    );
  });
});
