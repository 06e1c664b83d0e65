import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChatMessage } from '../../src/models/types.ts';
import { fitHistory, omittedMarker } from '../../src/runtime/loop/context.ts';

const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(' ');
const user = (content: string): ChatMessage => ({ role: 'user', content });
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content });
const call = (id: string): ChatMessage => ({
  role: 'assistant',
  content: null,
  tool_calls: [{ id, type: 'function', function: { name: 'calculator', arguments: '{"expression":"1+1"}' } }],
});
const result = (id: string): ChatMessage => ({ role: 'tool', tool_call_id: id, content: '2' });

describe('history within a token budget', () => {
  it('keeps everything that fits, with no marker', () => {
    const history = [user('hi'), assistant('hello'), user('how are you')];
    const fitted = fitHistory(history, 1000);
    assert.deepEqual(fitted.messages, history);
    assert.equal(fitted.record.dropped, 0);
    assert.equal(fitted.record.marker, undefined);
  });

  it('drops the oldest messages behind a marker that says how many', () => {
    const history = [user(words(100)), assistant(words(100)), user(words(100)), assistant('ok'), user('now')];
    const fitted = fitHistory(history, 60);
    assert.equal(fitted.record.dropped, 3);
    assert.equal(fitted.record.kept, 2);
    assert.deepEqual(fitted.messages[0], { role: 'user', content: omittedMarker(3) });
    assert.match(omittedMarker(3), /^\[\.\.\.3 earlier messages omitted to fit the context budget\.\.\.\]$/);
    assert.deepEqual(fitted.messages.slice(1), history.slice(3));
  });

  it('always keeps the current turn whole, even over the budget', () => {
    const history = [user('old'), assistant('old answer'), user(words(500))];
    const fitted = fitHistory(history, 100);
    assert.equal(fitted.messages.at(-1), history[2]);
    assert.equal(fitted.record.dropped, 2);
  });

  it('never separates tool calls from their results', () => {
    const history = [
      user(words(200)),
      call('a'),
      result('a'),
      assistant('The calculator tool returned: 2'),
      user('and again?'),
    ];
    // Room for the final answer and the current turn, not for the call with its result.
    const fitted = fitHistory(history, 25);
    assert.equal(fitted.record.dropped, 3);
    assert.deepEqual(fitted.messages.slice(1), history.slice(3));
    // Room for the call and its result too: both come back together, and never a result alone.
    const wider = fitHistory(history, 60);
    assert.equal(wider.record.dropped, 1);
    assert.deepEqual(wider.messages.slice(1), history.slice(1));
    for (let budget = 1; budget < 400; budget += 3) {
      const m = fitHistory(history, budget).messages;
      const firstReal = m[0]?.content?.startsWith('[...') ? m[1] : m[0];
      assert.notEqual(firstReal?.role, 'tool', `budget ${budget} starts with a tool result`);
    }
  });

  it('inside the current turn, a paused tool round stays whole', () => {
    const history = [user(words(300)), assistant('sure'), user('use the calculator'), call('b'), result('b')];
    const fitted = fitHistory(history, 10);
    assert.deepEqual(fitted.messages.slice(1), history.slice(2));
  });
});
