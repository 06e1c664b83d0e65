import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  type AgentryClient,
  AgentryError,
  createClient,
  type RunEvent,
} from '../../packages/client/src/index.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { type CuttingProxy, cuttingProxy } from './cutting-proxy.ts';

const words = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');

async function collect(events: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

function textOf(events: RunEvent[]): string {
  let text = '';
  // The narrowing on `type` is the typed events' own: `delta` exists only on text events.
  for (const e of events) if (e.type === 'text') text += e.delta;
  return text;
}

for (const store of stores) {
  describe(`typed client on ${store}`, () => {
    let s: TestServer;
    let api: AgentryClient;
    let agentId: string;

    before(async () => {
      // One word per chunk, 15 ms apart: a 40-word answer streams long enough to be cut mid-way.
      s = await startServer(store, { models: { mock: { chunk_delay_ms: 15, words_per_chunk: 1 } } });
      api = createClient({ baseUrl: s.url, apiKey: s.adminKey, reconnectDelayMs: 10 });
    });
    after(() => s.close());

    it('creates and lists agents with typed bodies and answers', async () => {
      const agent = await api.POST('/v1/agents', {
        body: { name: 'talker', description: 'echoes', system_prompt: 'Be brief.' },
      });
      agentId = agent.id;
      assert.equal(agent.name, 'talker');
      assert.equal(agent.version, 1);
      const page = await api.GET('/v1/agents', { params: { query: { name: 'talker', limit: 5 } } });
      assert.equal(page.total, 1);
      assert.deepEqual(
        page.data.map((a) => [a.id, a.description]),
        [[agent.id, 'echoes']],
      );
      const one = await api.GET('/v1/agents/{id}', { params: { path: { id: agent.id } } });
      assert.equal(one.system_prompt, 'Be brief.');
    });

    it('streams a chat as an async iterator of typed events', async () => {
      const events = await collect(api.chat(agentId, { message: 'hello there' }));
      assert.equal(events[0]?.type, 'session_start');
      assert.deepEqual(
        events.slice(-2).map((e) => e.type),
        ['result', 'session_end'],
      );
      assert.equal(textOf(events), 'You said: hello there');
      const result = events.at(-2)!;
      assert.ok(result.type === 'result' && result.text === 'You said: hello there');
      const ids = events.map((e) => e.id);
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
        'ids increase',
      );
      // The same run, followed afterwards from its log, is the same events.
      const start = events[0]!;
      assert.ok(start.type === 'session_start');
      assert.deepEqual(await collect(api.followRun(start.run_id)), events);
    });

    describe('through a connection that is cut mid-stream', () => {
      let proxy: CuttingProxy;
      before(async () => {
        proxy = await cuttingProxy(s.url, 'word5 ');
      });
      after(() => proxy.close());

      it('resumes by Last-Event-ID: no text repeated or missing', async () => {
        const cut = createClient({ baseUrl: proxy.url, apiKey: s.adminKey, reconnectDelayMs: 10 });
        const events = await collect(cut.chat(agentId, { message: words }));
        assert.equal(proxy.cuts, 1, 'the proxy cut the chat stream');
        const start = events[0]!;
        assert.ok(start.type === 'session_start');
        // The rest came from the run's stream, asked to resume after an event already received.
        const resumed = proxy.requests.filter((r) => r.startsWith(`get /v1/runs/${start.run_id}/stream`));
        assert.equal(resumed.length, 1, proxy.requests.join('\n---\n'));
        const after = Number(/last-event-id: (\d+)/.exec(resumed[0]!)?.[1]);
        assert.ok(events.some((e) => e.id === after));
        assert.ok(
          events.some((e) => e.id > after && e.type === 'text'),
          'text came after the cut',
        );

        assert.equal(textOf(events), `You said: ${words}`);
        assert.deepEqual(
          events.slice(-2).map((e) => e.type),
          ['result', 'session_end'],
        );
        // Exactly the run's log: nothing twice, nothing left out.
        const whole = await collect(api.followRun(start.run_id));
        assert.deepEqual(
          events.map((e) => e.id),
          whole.map((e) => e.id),
        );
      });
    });

    it('gives up with a connection_error when the server stays away', async () => {
      const away = await cuttingProxy(s.url, 'word5 ', { refuseAfterCut: true });
      try {
        const cut = createClient({
          baseUrl: away.url,
          apiKey: s.adminKey,
          reconnectDelayMs: 1,
          maxReconnects: 2,
        });
        const seen: RunEvent[] = [];
        await assert.rejects(
          (async () => {
            for await (const e of cut.chat(agentId, { message: words })) seen.push(e);
          })(),
          (err: unknown) => {
            assert.ok(err instanceof AgentryError);
            assert.equal(err.code, 'connection_error');
            assert.equal(err.status, 0);
            assert.match(err.message, /dropped 3 times in a row/);
            return true;
          },
        );
        assert.equal(away.cuts, 1);
        assert.ok(
          seen.some((e) => e.type === 'text'),
          'events before the cut were yielded',
        );
      } finally {
        await away.close();
      }
    });

    it('follows a run from a given event id', async () => {
      const events = await collect(api.chat(agentId, { message: 'one two three' }));
      const start = events[0]!;
      assert.ok(start.type === 'session_start');
      const tail = await collect(api.followRun(start.run_id, { lastEventId: events.at(-3)!.id }));
      assert.deepEqual(
        tail.map((e) => e.type),
        ['result', 'session_end'],
      );
    });

    it('stops when the caller leaves the loop or aborts', async () => {
      let texts = 0;
      let runId = '';
      for await (const e of api.chat(agentId, { message: words })) {
        if (e.type === 'session_start') runId = e.run_id;
        if (e.type === 'text' && ++texts === 2) break;
      }
      assert.equal(texts, 2);
      // The run carries on without its client (on_disconnect: continue) and ends.
      const rest = await collect(api.followRun(runId));
      assert.equal(rest.at(-1)?.type, 'session_end');

      const controller = new AbortController();
      const reason = new Error('enough');
      await assert.rejects(
        (async () => {
          for await (const e of api.followRun(runId, { signal: controller.signal })) {
            if (e.type === 'system') controller.abort(reason);
          }
        })(),
        (err) => err === reason,
      );
    });

    it('throws AgentryError with the server error body and the request id', async () => {
      const missing = randomUUID();
      const err = await api
        .GET('/v1/agents/{id}', {
          params: { path: { id: missing } },
          headers: { 'x-request-id': 'client-test-404' },
        })
        .then(
          () => assert.fail('a missing agent must not answer'),
          (e: unknown) => e,
        );
      assert.ok(err instanceof AgentryError);
      assert.equal(err.status, 404);
      assert.equal(err.code, 'not_found');
      assert.equal(err.requestId, 'client-test-404');
      assert.equal(err.body?.request_id, 'client-test-404');
      assert.match(err.message, /agent/);

      // Without a caller's id, the server's own (as in its logs) is carried.
      const invalid = await api.POST('/v1/agents', { body: { name: '' } }).then(
        () => assert.fail('an empty name must be refused'),
        (e: unknown) => e,
      );
      assert.ok(invalid instanceof AgentryError);
      assert.equal(invalid.status, 400);
      assert.equal(invalid.code, 'validation_error');
      assert.match(invalid.requestId ?? '', /^[0-9a-f-]{36}$/);

      // A stream refused before it opens throws the same way from the iterator.
      await assert.rejects(collect(api.chat(missing, { message: 'hi' })), (e: unknown) => {
        assert.ok(e instanceof AgentryError);
        assert.equal(e.status, 404);
        assert.ok(e.requestId);
        return true;
      });
      // A wrong key: 401 with the server's body.
      const stranger = createClient({ baseUrl: s.url, apiKey: 'agk_wrong' });
      await assert.rejects(
        stranger.GET('/v1/agents'),
        (e: unknown) => e instanceof AgentryError && e.status === 401,
      );
    });
  });
}

/** Compile-time checks (never called): tsc refuses the test suite when the client's types loosen. */
export function typeChecks(api: AgentryClient) {
  // @ts-expect-error: not a route of the API
  void api.GET('/v1/no-such-route');
  // @ts-expect-error: an agent's body needs a name
  void api.POST('/v1/agents', { body: { description: 'nameless' } });
  // @ts-expect-error: limit is a number
  void api.GET('/v1/agents', { params: { query: { limit: 'ten' } } });
  // @ts-expect-error: the path parameter is required
  void api.GET('/v1/agents/{id}');
  // @ts-expect-error: a chat needs a message
  void api.chat('id', {});
  const answer: Promise<{ name: string }> = api.GET('/v1/agents/{id}', { params: { path: { id: 'x' } } });
  return answer;
}
