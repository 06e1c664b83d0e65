/**
 * One spec every model provider passes, as every evaluator kind passes the evaluator spec: a whole
 * answer, a streamed one whose deltas join to the text, a tool call (whole and streamed), the
 * vendor's errors as the gateway's (429 rate limited and retried, 400 the caller's), the usage
 * counted, and a call the caller aborts (streamed or whole) stopping with its connection closed.
 * Each row starts its vendor's fake on loopback (real HTTP) replaying the vendor's recorded answers
 * (helpers/) and makes the provider from its factory in the registry. The table is typed by the
 * registry: a new kind does not compile until it has its row here; a case a provider cannot run is
 * written in its row, with why (`cannot`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ProviderType, ScriptedTurn } from '../../src/config/models-config.ts';
import { toAppError } from '../../src/models/errors.ts';
import { UpstreamError } from '../../src/models/provider.ts';
import { MockProvider } from '../../src/models/providers/mock.ts';
import { providerFactories } from '../../src/models/providers/registry.ts';
import { estimatePromptTokens, estimateTokens } from '../../src/models/tokens.ts';
import type { CompletionChunk, CompletionRequest, Usage } from '../../src/models/types.ts';
import { eventually } from '../helpers/eventually.ts';
import { type BedrockScripted, converse } from './helpers/fake-bedrock.ts';
import { openai as oa, type Scripted } from './helpers/fake-upstream.ts';
import { gemini as g } from './helpers/gemini-wire.ts';
import {
  bedrockRig,
  collect,
  config,
  make,
  type Recorded,
  type Rig,
  row,
  type SpecRow,
  type Text,
  upstreamRig,
  vertexRig,
  within,
} from './helpers/provider-spec.ts';
import { anthropic, azure, groq, ollama, openrouter } from './helpers/vendor-answers.ts';

const textRequest: Omit<CompletionRequest, 'model'> = { messages: [{ role: 'user', content: 'hi' }] };
const toolRequest: Omit<CompletionRequest, 'model'> = {
  messages: [{ role: 'user', content: 'weather?' }],
  tools: [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        parameters: { type: 'object', properties: { city: { type: 'string' } } },
      },
    },
  ],
};
const weather = (city: string) => ({ name: 'get_weather', arguments: { city } });

const mockText = 'Hello from the mock.';
const mockUsage = (text: string): Text['usage'] => [
  estimatePromptTokens(textRequest.messages),
  estimateTokens(text),
];
const bedrockText = (deltas: string[]) =>
  deltas.map((text) => ({ contentBlockDelta: { contentBlockIndex: 0, delta: { text } } }));
const geminiText = (text: string) => ({
  candidates: [{ content: { parts: [{ text }], role: 'model' }, index: 0 }],
});
const ticks = (n: number) => Array.from({ length: n }, (_, i) => `t${i} `);

/** Gemini's answers serve both Google rows: the same body, at the Gemini API or at Vertex AI. */
const google: Recorded<Scripted> = {
  whole: [
    { status: 200, body: g.textAnswer('Hello from Gemini.') },
    { text: 'Hello from Gemini.', usage: [9, 4] },
  ],
  streamed: [
    { pieces: g.sse(g.streamedText), contentType: 'text/event-stream', gapMs: 0 },
    { text: 'Hello there, friend.', usage: [3, 5] },
  ],
  toolWhole: [{ status: 200, body: g.toolCallAnswer }, [weather('Bern')]],
  toolStreamed: [
    { pieces: g.sse(g.streamed), contentType: 'text/event-stream', gapMs: 0 },
    [weather('Bern'), weather('Zug')],
  ],
  rateLimited: [
    { status: 429, body: g.error(429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota', '43s') },
    { message: /You exceeded your current quota/, retryAfter: 43 },
  ],
  badRequest: [
    {
      status: 400,
      body: g.error(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received. Unknown name "foo"'),
    },
    { message: /Invalid JSON payload received/ },
  ],
  slow: { pieces: g.sse(ticks(50).map(geminiText)), contentType: 'text/event-stream', gapMs: 100 },
  hang: { hang: true },
};

const rows = {
  mock: row<ScriptedTurn>({
    async start() {
      // Paced like a model, so a stream can be aborted between its chunks.
      const provider = make('mock', {}, undefined, config({ mock: { chunk_delay_ms: 20 } }));
      assert.ok(provider instanceof MockProvider);
      return {
        provider,
        model: 'spec-model',
        script: (turn) => provider.script('spec-model', [turn]),
        seen: { cannot: 'the mock answers in the process: there is no connection to close' },
        close: async () => {},
      };
    },
    answers: {
      whole: [{ content: mockText }, { text: mockText, usage: mockUsage(mockText) }],
      streamed: [{ content: mockText }, { text: mockText, usage: mockUsage(mockText) }],
      toolWhole: [{ tool_calls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] }, [weather('Oslo')]],
      toolStreamed: [
        { tool_calls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] },
        [weather('Oslo')],
      ],
      rateLimited: [{ error: { status: 429, message: 'slow down' } }, { message: /slow down/ }],
      badRequest: [{ error: { status: 400, message: 'bad temperature' } }, { message: /bad temperature/ }],
      slow: { content: ticks(150).join('') },
      hang: { content: 'never', delay_ms: 60_000 },
    },
  }),
  // OpenAI-compatible servers: a local one (Ollama), a router (OpenRouter), a host (Groq).
  openai: row<Scripted>({
    start: () => upstreamRig('openai', (url) => ({ base_url: `${url}/v1` }), 'sk-spec'),
    answers: {
      whole: [
        { status: 200, body: ollama.completion },
        { text: 'Hi from llama.', usage: [27, 5] },
      ],
      streamed: [{ sse: openrouter.stream }, { text: 'Routed answer.', usage: [12, 4] }],
      toolWhole: [{ status: 200, body: groq.completion }, [weather('Quito')]],
      toolStreamed: [{ sse: ollama.toolStream }, [weather('Lima')]],
      rateLimited: [groq.rateLimited, { message: /Rate limit reached/, retryAfter: 4 }],
      badRequest: [
        { status: 400, body: { error: { message: 'bad temperature' } } },
        { message: /bad temperature/ },
      ],
      slow: { sse: ticks(50).map((content) => oa.chunk({ content })), gapMs: 100 },
      hang: { hang: true },
    },
  }),
  azure: row<Scripted>({
    start: () => upstreamRig('azure', (url) => ({ base_url: url, api_version: '2024-10-21' }), 'az-key'),
    answers: {
      whole: [
        { status: 200, body: azure.completion },
        { text: 'Hello from Azure.', usage: [9, 5] },
      ],
      streamed: [{ sse: azure.textStream }, { text: 'Hello from Azure.', usage: [9, 5] }],
      toolWhole: [{ status: 200, body: azure.toolCompletion }, [weather('Oslo')]],
      toolStreamed: [{ sse: azure.toolStream }, [weather('Oslo')]],
      rateLimited: [azure.rateLimited, { message: /exceeded token rate limit/, retryAfter: 30 }],
      badRequest: [azure.filtered, { message: /content management policy/ }],
      slow: { sse: ticks(50).map((content) => oa.chunk({ content })), gapMs: 100 },
      hang: { hang: true },
    },
  }),
  anthropic: row<Scripted>({
    start: () => upstreamRig('anthropic', (url) => ({ base_url: url }), 'sk-ant-spec'),
    answers: {
      whole: [
        { status: 200, body: anthropic.completion('Hello from Claude.') },
        { text: 'Hello from Claude.', usage: [10, 3] },
      ],
      streamed: [
        { sse: anthropic.stream(['Hello ', 'from ', 'Claude.']), eventNames: true },
        { text: 'Hello from Claude.', usage: [25, 17] },
      ],
      toolWhole: [{ status: 200, body: anthropic.toolCompletion }, [weather('Bern')]],
      toolStreamed: [{ sse: anthropic.toolStream, eventNames: true }, [weather('Chur')]],
      rateLimited: [anthropic.rateLimited, { message: /exceed the rate limit/, retryAfter: 20 }],
      badRequest: [anthropic.invalid, { message: /temperature: range/ }],
      slow: { sse: anthropic.stream(ticks(50)), eventNames: true, gapMs: 100 },
      hang: { hang: true },
    },
  }),
  bedrock: row<BedrockScripted>({
    start: () => bedrockRig('anthropic.claude-3-5-sonnet-20240620-v1:0'),
    answers: {
      whole: [
        { json: converse.answer([{ text: 'Hello from Bedrock.' }], 'end_turn') },
        { text: 'Hello from Bedrock.', usage: [25, 9] },
      ],
      streamed: [
        {
          events: [
            { messageStart: { role: 'assistant' } },
            ...bedrockText(['Hello', ' from the', ' stream.']),
            { contentBlockStop: { contentBlockIndex: 0 } },
            ...converse.end('end_turn', { inputTokens: 12, outputTokens: 5 }),
          ],
        },
        { text: 'Hello from the stream.', usage: [12, 5] },
      ],
      toolWhole: [
        {
          json: converse.answer(
            [{ toolUse: { toolUseId: 'tooluse_kZJMlvQm', name: 'get_weather', input: { city: 'Rome' } } }],
            'tool_use',
          ),
        },
        [weather('Rome')],
      ],
      toolStreamed: [
        {
          events: [
            { messageStart: { role: 'assistant' } },
            {
              contentBlockStart: {
                contentBlockIndex: 0,
                start: { toolUse: { toolUseId: 'tooluse_s1', name: 'get_weather' } },
              },
            },
            { contentBlockDelta: { contentBlockIndex: 0, delta: { toolUse: { input: '{"city":' } } } },
            { contentBlockDelta: { contentBlockIndex: 0, delta: { toolUse: { input: '"Rome"}' } } } },
            { contentBlockStop: { contentBlockIndex: 0 } },
            ...converse.end('tool_use', { inputTokens: 300, outputTokens: 40 }),
          ],
        },
        [weather('Rome')],
      ],
      rateLimited: [
        {
          status: 429,
          errorType: 'ThrottlingException',
          message: 'Too many requests, please wait before trying again.',
        },
        { message: /ThrottlingException: Too many requests/ },
      ],
      badRequest: [
        {
          status: 400,
          errorType: 'ValidationException',
          message: 'The model returned the following errors: temperature: range: 0..1',
        },
        { message: /ValidationException: The model returned the following errors/ },
      ],
      slow: {
        events: [
          { messageStart: { role: 'assistant' } },
          ...bedrockText(ticks(50)),
          ...converse.end('end_turn'),
        ],
        gapMs: 100,
      },
      hang: { hang: true },
    },
  }),
  gemini: row<Scripted>({
    start: () => upstreamRig('gemini', (url) => ({ base_url: `${url}/v1beta` }), 'AIza-spec-key'),
    answers: google,
  }),
  vertex: row<Scripted>({
    start: () => vertexRig('spec-project'),
    answers: google,
  }),
} satisfies Record<ProviderType, SpecRow<unknown>>;

/**
 * How long a cancelled call may take to stop: far past any pause of a loaded machine, well short of
 * the vendor fake's 60 s hang, so only a call that ignores its signal fails.
 */
const cancelBound = 30_000;

describe('every model provider passes the provider spec', () => {
  it('has a row for each registered kind and no other', () => {
    assert.deepEqual(Object.keys(rows).sort(), Object.keys(providerFactories).sort());
  });

  for (const [type, spec] of Object.entries(rows) as [ProviderType, SpecRow<unknown>][]) {
    describe(type, () => {
      let rig: Rig<unknown>;
      before(async () => {
        rig = await spec.start();
      });
      after(() => rig?.close());
      const a = spec.answers;
      const call = (request: Omit<CompletionRequest, 'model'>, signal = new AbortController().signal) => ({
        request: { ...request, model: rig.model },
        signal,
      });
      const whole = async (answer: unknown, request = textRequest) => {
        rig.script(answer);
        return rig.provider.complete(call(request));
      };
      const streamed = async (answer: unknown, request = textRequest) => {
        rig.script(answer);
        return collect(rig.provider.stream(call(request)));
      };

      it('a whole answer: its text, finished by stop', async () => {
        const c = await whole(a.whole[0]);
        assert.equal(c.message.role, 'assistant');
        assert.equal(c.message.content, a.whole[1].text);
        assert.equal(c.finish_reason, 'stop');
        assert.equal(c.message.tool_calls, undefined);
      });

      it('a streamed answer: its deltas join to the text, one finish, last', async () => {
        const s = await streamed(a.streamed[0]);
        assert.equal(s.text, a.streamed[1].text);
        assert.equal(s.finish.finish_reason, 'stop');
        assert.deepEqual(s.calls, []);
      });

      it('a tool call, whole and streamed: each name with its JSON arguments, and an id', async () => {
        const c = await whole(a.toolWhole[0], toolRequest);
        assert.equal(c.finish_reason, 'tool_calls');
        const made = c.message.tool_calls ?? [];
        assert.ok(made.every((t) => t.type === 'function' && t.id));
        const parsed = made.map((t) => ({
          name: t.function.name,
          arguments: JSON.parse(t.function.arguments),
        }));
        assert.deepEqual(parsed, a.toolWhole[1]);

        const s = await streamed(a.toolStreamed[0], toolRequest);
        assert.equal(s.finish.finish_reason, 'tool_calls');
        assert.ok(s.calls.every((t) => t.id));
        assert.equal(new Set(s.calls.map((t) => t.id)).size, s.calls.length, 'ids differ');
        const joined = s.calls.map((t) => ({ name: t.name, arguments: JSON.parse(t.args) }));
        assert.deepEqual(joined, a.toolStreamed[1]);
      });

      it("vendor errors, whole or streamed: a 429 rate limited and retried, a 400 the caller's", async () => {
        const refused = async (answer: unknown, how: 'whole' | 'streamed') => {
          const err = await (how === 'whole' ? whole(answer) : streamed(answer)).then(
            () => assert.fail(`${how}: no error`),
            (e: unknown) => e,
          );
          assert.ok(err instanceof UpstreamError, `${how}: ${String(err)}`);
          assert.equal(err.kind, 'http');
          return err;
        };
        const [limited, limit] = a.rateLimited;
        for (const how of ['whole', 'streamed'] as const) {
          const err = await refused(limited, how);
          assert.equal(err.status, 429);
          assert.equal(err.retryable, true, 'retried');
          assert.equal(err.endpointFault, false, "the endpoint's breaker is not charged");
          assert.equal(err.retryAfter, limit.retryAfter, 'the wait the vendor asked for');
          assert.match(err.message, limit.message);
          const app = toAppError(err, `${type}/${rig.model}`);
          assert.equal(app.code, 'rate_limited');
          assert.equal(app.retryAfter, limit.retryAfter ?? 1);
        }
        const [bad, refusal] = a.badRequest;
        for (const how of ['whole', 'streamed'] as const) {
          const err = await refused(bad, how);
          assert.equal(err.status, 400);
          assert.equal(err.retryable, false, 'not retried');
          assert.match(err.message, refusal.message);
          assert.equal(toAppError(err, `${type}/${rig.model}`).code, 'bad_request');
        }
      });

      it('usage counted, whole and streamed: input and output tokens as the vendor reported them', async () => {
        const usage = (u: Usage) => {
          assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
          return [u.prompt_tokens, u.completion_tokens];
        };
        assert.deepEqual(usage((await whole(a.whole[0])).usage), a.whole[1].usage);
        assert.deepEqual(usage((await streamed(a.streamed[0])).finish.usage), a.streamed[1].usage);
      });

      it('cancellation: aborting a stream stops it, and the fake sees its connection closed', async () => {
        const seen = rig.seen;
        const before = 'cannot' in seen ? 0 : seen.length;
        rig.script(a.slow);
        const controller = new AbortController();
        const chunks = rig.provider.stream(call(textRequest, controller.signal))[Symbol.asyncIterator]();
        assert.equal((await chunks.next()).done, false, 'a first chunk');
        controller.abort();
        const after: CompletionChunk[] = [];
        const ended = (async () => {
          for (let next = await chunks.next(); !next.done; next = await chunks.next()) after.push(next.value);
        })();
        await within(cancelBound, assert.rejects(ended), 'the stream stops with an error');
        assert.ok(!after.some((c) => c.type === 'finish'), 'an aborted stream does not finish');
        assert.ok(after.length < 10, `${after.length} chunks after the abort`);
        if ('cannot' in seen) return assert.ok(seen.cannot);
        assert.equal(seen.length, before + 1);
        await within(cancelBound, seen[before]!.aborted, 'the fake sees the connection closed');
      });

      it('cancellation of a whole answer: aborting it while the vendor is silent rejects, the connection closed', async () => {
        const seen = rig.seen;
        const before = 'cannot' in seen ? 0 : seen.length;
        rig.script(a.hang);
        const controller = new AbortController();
        const pending = rig.provider.complete(call(textRequest, controller.signal));
        pending.catch(() => {}); // awaited below, once the fake has the request
        if (!('cannot' in seen)) await eventually(async () => seen[before], 5_000, 'the request');
        controller.abort();
        await within(cancelBound, assert.rejects(pending), 'the call rejects');
        if ('cannot' in seen) return assert.ok(seen.cannot);
        await within(cancelBound, seen[before]!.aborted, 'the fake sees the connection closed');
      });
    });
  }
});
