import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TraceSpan } from '../../src/runtime/trace/schema.ts';
import { merged } from '../../src/runtime/trace/traces.ts';

/** A span with what the merge reads: its id, kind and start. */
const span = (id: string, kind: string, startedAt: string) =>
  ({ id, kind, started_at: startedAt }) as unknown as TraceSpan;

/**
 * Span times are whole milliseconds: a swarm's transfer tool and the handoff it makes can start in
 * the same one (the run traces' handoff test failed so both ways: under a CPU hog, and on a quick run).
 */
describe('a trace: derived spans among the steps', () => {
  const earlier = '2026-11-27T21:00:00.122Z';
  const at = '2026-11-27T21:00:00.123Z';
  const later = '2026-11-27T21:00:00.124Z';

  it('puts a handoff after the tool step that started in the same millisecond', () => {
    const steps = [
      span('step-0', 'model', earlier),
      span('step-1', 'tool', at),
      span('step-2', 'model', later),
    ];
    const out = merged(steps, [span('handoff-0', 'handoff', at)]).map((x) => x.id);
    assert.deepEqual(out, ['step-0', 'step-1', 'handoff-0', 'step-2']);
  });

  it("puts a handoff before the next member's model call that started in the same millisecond", () => {
    const steps = [
      span('step-0', 'model', earlier),
      span('step-1', 'tool', earlier),
      span('step-2', 'model', at),
    ];
    const out = merged(steps, [span('handoff-0', 'handoff', at)]).map((x) => x.id);
    assert.deepEqual(out, ['step-0', 'step-1', 'handoff-0', 'step-2']);
  });

  it('puts a retrieval before the model call that started in the same millisecond', () => {
    const steps = [span('step-0', 'model', at)];
    const out = merged(steps, [span('retrieval-0', 'retrieval', at)]).map((x) => x.id);
    assert.deepEqual(out, ['retrieval-0', 'step-0']);
  });
});
