import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MOCK_JSON_MAX_CHARS, mockJson } from '../../src/models/providers/mock-json.ts';
import { ECHOED_ANSWER_MAX_CHARS } from '../../src/runtime/loop/loop.ts';
import { SCHEMA_MAX_MIN_ITEMS, schemaLimitProblem } from '../../src/text/schema-limits.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/**
 * JSON Schemas from clients are bounded where they are accepted (text/schema-limits.ts) and read
 * under their declared version (draft-07 or 2020-12): one that cannot be used is a 400 naming the
 * field, never a run that blocks the process or fails later with a 502.
 */

/** Ten million items: the mock built every one on the event loop (issue 61). */
const huge = { type: 'array', minItems: 10_000_000, items: { type: 'string' } };
const format = (schema: Record<string, unknown>) => ({
  type: 'json_schema',
  json_schema: { name: 'answer', schema },
});
/** What LangChain's withStructuredOutput sends with zod 4. */
const person2020 = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    name: { type: 'string' },
    tags: { type: 'array', prefixItems: [{ type: 'string' }], items: { type: 'string' } },
  },
  required: ['name', 'tags'],
  additionalProperties: false,
};

describe('schema bounds', () => {
  it('names the keyword and where it is', () => {
    assert.deepEqual(schemaLimitProblem(huge)?.path, ['minItems']);
    const nested = { type: 'object', properties: { list: { type: 'array', minContains: 1e9 } } };
    assert.deepEqual(schemaLimitProblem(nested)?.path, ['properties', 'list', 'minContains']);
    // A property named like a keyword is a name, not a bound.
    assert.equal(
      schemaLimitProblem({ type: 'object', properties: { minItems: { type: 'string' } } }),
      undefined,
    );
    assert.equal(schemaLimitProblem({ type: 'array', minItems: SCHEMA_MAX_MIN_ITEMS }), undefined);
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 100; i++) deep = { type: 'array', items: deep };
    assert.equal(schemaLimitProblem(deep)?.keyword, 'depth');
    const wide = {
      type: 'object',
      properties: Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`p${i}`, { type: 'string' }])),
    };
    assert.equal(schemaLimitProblem(wide)?.keyword, 'size');
  });
});

describe('the mock model’s structured answer', () => {
  it('stays within its budget for a schema within the bounds but large', () => {
    // 10,000 strings of 100,000 characters: a gigabyte if built in full.
    const schema = { type: 'array', minItems: 10_000, items: { type: 'string', minLength: 100_000 } };
    assert.equal(schemaLimitProblem(schema), undefined, 'within the bounds');
    const text = mockJson({ type: 'json_schema', json_schema: { name: 'big', schema } }, 'hi');
    assert.ok(text.length <= MOCK_JSON_MAX_CHARS + 100, `${text.length} characters`);
    assert.ok(Array.isArray(JSON.parse(text)));
    // Bounds multiply: arrays of arrays.
    const nested = {
      type: 'array',
      minItems: 10_000,
      items: { type: 'array', minItems: 10_000, items: { type: 'integer' } },
    };
    const text2 = mockJson({ type: 'json_schema', json_schema: { name: 'big', schema: nested } }, 'hi');
    assert.ok(text2.length <= MOCK_JSON_MAX_CHARS + 100, `${text2.length} characters`);
  });
});

describe('client schemas at the doors', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite', {
      models: {
        mock: {
          scripts: {
            // A long answer that is not JSON, then one that is: the retry echoes the first cut.
            long: [{ content: 'x'.repeat(400_000) }, { content: '{"name":"Ada","tags":[]}' }],
          },
        },
      },
    });
  });
  after(() => s.close());

  it('refuses an agent whose answer format asks for ten million items, naming the field', async () => {
    const made = await s.request('POST', '/v1/agents', {
      body: { name: 'huge', model: 'mock/default', response_format: format(huge) },
    });
    assert.equal(made.status, 400, made.text);
    assert.equal(made.body.error.code, 'validation_error');
    assert.match(made.body.error.message, /response_format\.json_schema\.schema\.minItems/);
    assert.match(made.body.error.message, /at most 10000/);
    const plain = await s.request('POST', '/v1/agents', { body: { name: 'later', model: 'mock/default' } });
    const patched = await s.request('PATCH', `/v1/agents/${plain.body.id}`, {
      body: { response_format: format(huge) },
    });
    assert.equal(patched.status, 400, patched.text);
    assert.match(patched.body.error.message, /minItems/);
  });

  it('refuses the same schema on /v1/chat/completions in OpenAI’s error shape', async () => {
    const got = await s.request('POST', '/v1/chat/completions', {
      body: {
        model: 'mock/default',
        messages: [{ role: 'user', content: 'hi' }],
        response_format: format(huge),
      },
    });
    assert.equal(got.status, 400, got.text);
    assert.equal(got.body.error.type, 'invalid_request_error');
    assert.equal(got.body.error.param, 'response_format.json_schema.schema.minItems');
    // Tool parameters too: the mock builds tool arguments from them.
    const tools = await s.request('POST', '/v1/chat/completions', {
      body: {
        model: 'mock/default',
        messages: [{ role: 'user', content: 'hi' }],
        tools: [
          { type: 'function', function: { name: 'f', parameters: { type: 'object', minProperties: 1e8 } } },
        ],
      },
    });
    assert.equal(tools.status, 400, tools.text);
    assert.equal(tools.body.error.param, 'tools.0.function.parameters.minProperties');
  });

  it('refuses it on /v1/responses text.format and on /v1/messages tools', async () => {
    const got = await s.request('POST', '/v1/responses', {
      body: {
        model: 'mock/default',
        input: 'hi',
        text: { format: { type: 'json_schema', name: 'a', schema: huge } },
      },
    });
    assert.equal(got.status, 400, got.text);
    assert.match(got.body.error.message, /text\.format\.schema\.minItems/);
    const tool = await s.request('POST', '/v1/responses', {
      body: {
        model: 'mock/default',
        input: 'hi',
        tools: [{ type: 'function', name: 'f', parameters: huge }],
      },
    });
    assert.equal(tool.status, 400, tool.text);
    assert.match(tool.body.error.message, /tools\[0\]\.parameters\.minItems/);
    const messages = await s.request('POST', '/v1/messages', {
      body: {
        model: 'mock/default',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'hi' }],
        tools: [{ name: 'f', input_schema: { type: 'object', properties: { l: huge } } }],
      },
    });
    assert.equal(messages.status, 400, messages.text);
    assert.equal(messages.body.type, 'error', 'Anthropic’s error shape');
    assert.match(messages.body.error.message, /minItems/);
  });

  it('refuses it as a task type’s input schema and a json_schema evaluator’s schema', async () => {
    const agent = await s.request('POST', '/v1/agents', {
      body: {
        name: 'typed-tasks',
        model: 'mock/default',
        task_types: [
          {
            name: 'list',
            input_schema: { type: 'object', properties: { a: { type: 'string', minLength: 1e9 } } },
          },
        ],
      },
    });
    assert.equal(agent.status, 400, agent.text);
    assert.match(agent.body.error.message, /minLength/);
  });

  it('answers a draft 2020-12 schema with valid JSON, through an agent and the gateway', async () => {
    const made = await s.request('POST', '/v1/agents', {
      body: { name: 'people', model: 'mock/default', response_format: format(person2020) },
    });
    assert.equal(made.status, 201, made.text);
    const chat = await s.request('POST', `/v1/agents/${made.body.id}/chat`, {
      body: { message: 'who?', stream: false },
    });
    assert.equal(chat.status, 200, chat.text);
    const value = JSON.parse(chat.body.response.text);
    assert.equal(typeof value.name, 'string');
    assert.ok(Array.isArray(value.tags));
    // LangChain's way: agent/<name> as a model with the schema on the request.
    await s.request('POST', '/v1/agents', { body: { name: 'plain-person', model: 'mock/default' } });
    const viaDoor = await s.request('POST', '/v1/chat/completions', {
      body: {
        model: 'agent/plain-person',
        messages: [{ role: 'user', content: 'who?' }],
        response_format: format(person2020),
      },
    });
    assert.equal(viaDoor.status, 200, viaDoor.text);
    assert.equal(typeof JSON.parse(viaDoor.body.choices[0].message.content).name, 'string');
    // draft-07 declared: the same.
    const draft07 = { ...person2020, $schema: 'http://json-schema.org/draft-07/schema#' };
    const seven = await s.request('POST', '/v1/chat/completions', {
      body: {
        model: 'agent/plain-person',
        messages: [{ role: 'user', content: 'who?' }],
        response_format: format(draft07),
      },
    });
    assert.equal(seven.status, 200, seven.text);
  });

  it('refuses a schema it cannot compile with a 400 at acceptance, not a 502 later', async () => {
    const unknownVersion = { $schema: 'https://example.com/my-own-meta', type: 'object' };
    const door = await s.request('POST', '/v1/chat/completions', {
      body: {
        model: 'agent/plain-person',
        messages: [{ role: 'user', content: 'who?' }],
        response_format: format(unknownVersion),
      },
    });
    assert.equal(door.status, 400, door.text);
    assert.equal(door.body.error.param, 'response_format.json_schema.schema');
    assert.match(door.body.error.message, /not a usable JSON Schema: \$schema/);
    const broken = await s.request('POST', '/v1/chat/completions', {
      body: {
        model: 'mock/default',
        messages: [{ role: 'user', content: 'hi' }],
        response_format: format({ type: 12 }),
      },
    });
    assert.equal(broken.status, 400, broken.text);
    const agent = await s.request('POST', '/v1/agents', {
      body: {
        name: 'bad-2020',
        model: 'mock/default',
        response_format: format({ ...person2020, prefixItems: 3 }),
      },
    });
    assert.equal(agent.status, 400, agent.text);
    assert.match(agent.body.error.message, /response_format\.json_schema\.schema/);
  });

  it('echoes a refused answer to the model cut, not whole', async () => {
    const made = await s.request('POST', '/v1/agents', {
      body: { name: 'long-winded', model: 'mock/long', response_format: format(person2020) },
    });
    assert.equal(made.status, 201, made.text);
    const chat = await s.request('POST', `/v1/agents/${made.body.id}/chat`, {
      body: { message: 'who?', stream: false },
    });
    assert.equal(chat.status, 200, chat.text);
    const run = await s.request('GET', `/v1/runs/${chat.body.run_id ?? chat.body.response.run_id}`);
    assert.equal(run.body.model_calls, 2, 'asked again once');
    // The answer is cut at the call's max_tokens (4,096 tokens, 16,384 characters) and echoed in
    // full it would be that much of the second call's prompt; cut, about a quarter of it.
    const echoedTokens = ECHOED_ANSWER_MAX_CHARS / 4;
    assert.ok(run.body.usage.prompt_tokens < echoedTokens + 1_000, JSON.stringify(run.body.usage));
  });
});
