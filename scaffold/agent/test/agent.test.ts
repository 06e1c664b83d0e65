import assert from 'node:assert/strict';
import { test } from 'node:test';
import { handle } from '../src/agent.ts';
import type { AgentContext, Message } from '../src/agentry.ts';

/** A stand-in for what Agentry hands `handle`: the model answers from a script. */
function fakeContext(reply: string, seen: Array<string | Message[]>): AgentContext {
  return {
    model: {
      chat: async (messages) => {
        seen.push(messages);
        return {
          content: reply,
          finish_reason: 'stop',
          model: 'fake',
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        };
      },
    },
    tools: {
      call: async (name) => {
        throw new Error(`no tool ${name} in this test`);
      },
      list: async () => [],
    },
    agent: { id: 'test-agent', name: 'my-agent' },
    session: { id: 'test-session' },
    run: { id: 'test-run' },
    signal: new AbortController().signal,
  };
}

test('handle answers with the model reply to the conversation', async () => {
  const seen: Array<string | Message[]> = [];
  const out = await handle(
    { message: 'hello', messages: [{ role: 'user', content: 'hello' }], context: {} },
    fakeContext('hi there', seen),
  );
  assert.equal(out, 'hi there');
  assert.equal(seen.length, 1);
  assert.deepEqual((seen[0] as Message[]).at(-1), { role: 'user', content: 'hello' });
});
