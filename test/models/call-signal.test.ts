import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { abortSignalOf, CallSignal, pause } from '../../src/models/call-signal.ts';

describe('CallSignal', () => {
  it('calls each listener once on the first abort, keeps its reason, and skips removed ones', () => {
    const signal = new CallSignal();
    const calls: string[] = [];
    const removed = () => calls.push('removed');
    signal.addEventListener('abort', () => calls.push('a'));
    signal.addEventListener('abort', removed);
    signal.addEventListener('abort', () => calls.push('b'));
    signal.removeEventListener('abort', removed);
    const first = new Error('first');
    signal.abort(first);
    signal.abort(new Error('second'));
    signal.addEventListener('abort', () => calls.push('late'));
    assert.deepEqual(calls, ['a', 'b']);
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, first);
  });

  it('gives a real AbortSignal that follows it, made before or after the abort', () => {
    const before = new CallSignal();
    const native = before.toAbortSignal();
    assert.equal(before.toAbortSignal(), native, 'made once');
    assert.equal(native.aborted, false);
    const reason = new Error('gone');
    before.abort(reason);
    assert.equal(native.aborted, true);
    assert.equal(native.reason, reason);

    const after = new CallSignal();
    after.abort(reason);
    assert.equal(after.toAbortSignal().reason, reason);
  });

  it('abortSignalOf passes an AbortSignal through and follows any other caller signal', () => {
    const controller = new AbortController();
    assert.equal(abortSignalOf(controller.signal), controller.signal);
    const listeners: Array<() => void> = [];
    const other = {
      aborted: false,
      reason: undefined as unknown,
      addEventListener: (_t: 'abort', l: () => void) => listeners.push(l),
      removeEventListener: () => {},
    };
    const native = abortSignalOf(other);
    assert.equal(native.aborted, false);
    other.aborted = true;
    other.reason = 'why';
    for (const l of listeners) l();
    assert.equal(native.reason, 'why');
  });

  it('pause resolves after its time, and rejects with the reason as soon as the signal aborts', async () => {
    await pause(5, new CallSignal());
    const signal = new CallSignal();
    // Waited out, it would resolve (a minute later) and fail the assertion.
    const waiting = pause(60_000, signal);
    signal.abort(new Error('stop'));
    await assert.rejects(waiting, /stop/);
  });
});
