import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { createAgent } from './helpers.ts';

/**
 * A barrier for `parties` tool calls: each call waits until all have arrived. Run one after another,
 * the first call can never return (it waits for a call that only starts after it ends), so it hits
 * its time limit and reports an error instead of `met`: the test fails without timing anything.
 */
function barrier(parties: number) {
  const arrived: string[] = [];
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    arrived,
    async reach(who: string, signal: AbortSignal): Promise<string> {
      arrived.push(who);
      if (arrived.length === parties) open();
      await new Promise<void>((resolve, reject) => {
        opened.then(resolve);
        signal.addEventListener('abort', () => reject(new Error(`${who} waited alone`)), { once: true });
      });
      return `${who} met ${parties - 1} other call(s)`;
    },
  };
}

for (const store of stores) {
  describe(`parallel tool calls (${store})`, () => {
    let s: TestServer;
    let meet = barrier(2);

    before(async () => {
      s = await startServer(store);
      s.app.services.tools.register<{ who: string }>({
        name: 'rendezvous',
        description: 'Waits until the other calls of the same turn arrive.',
        parameters: { type: 'object', properties: { who: { type: 'string' } }, required: ['who'] },
        // Long enough for a loaded machine; only reached when the calls do not overlap.
        timeout_ms: 20_000,
        handler: (args, ctx) => meet.reach(args.who, ctx.signal),
      });
    });
    after(() => s.close());

    it('runs the tool calls of one model turn at once; results join in the model’s order', async () => {
      meet = barrier(2);
      const agent = await createAgent(s, { name: 'pair', model: 'mock/pair', tools: ['rendezvous'] });
      s.app.services.models.mock.script('pair', [
        {
          tool_calls: [
            { name: 'rendezvous', arguments: { who: 'first' } },
            { name: 'rendezvous', arguments: { who: 'second' } },
          ],
        },
        { content: 'both met' },
      ]);
      const res = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
        body: { message: 'meet', stream: false },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.response.text, 'both met');
      assert.deepEqual(meet.arrived.toSorted(), ['first', 'second']);

      const run = await s.request('GET', `/v1/runs/${res.body.run_id}`);
      const tools = run.body.steps.filter((st: { kind: string }) => st.kind === 'tool');
      assert.deepEqual(
        tools.map((st: { input: { who: string }; output?: string; error?: string }) => [
          st.input.who,
          st.output ?? st.error,
        ]),
        [
          ['first', 'first met 1 other call(s)'],
          ['second', 'second met 1 other call(s)'],
        ],
      );
      // The history keeps the model's order: the assistant's calls, then each result after its call.
      const history = await s.request('GET', `/v1/sessions/${res.body.session_id}/messages`);
      const calls = history.body.data.find((m: { tool_calls?: unknown[] }) => m.tool_calls)?.tool_calls;
      const results = history.body.data.filter((m: { role: string }) => m.role === 'tool');
      assert.deepEqual(
        results.map((m: { tool_call_id: string }) => m.tool_call_id),
        calls.map((c: { id: string }) => c.id),
      );
    });
  });
}
