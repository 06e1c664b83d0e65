import { estimateTokens } from '../../models/tokens.ts';
import type { ChatMessage, ToolCall } from '../../models/types.ts';
import { zeroUsage } from '../../models/usage-details.ts';
import { boundDepth } from '../../text/bound-depth.ts';
import type { ToolOutcome } from '../../tools/types.ts';
import { type NewStep, parseArguments, toRecord } from '../runs/rows.ts';
import type { ToolCallRecord } from '../schema.ts';
import { inToolSpan } from '../trace/tool-span.ts';
import { traceString, traceValue } from '../trace/value.ts';
import type { RecordedResult, Round } from '../types.ts';
import type { LoopInput } from './loop.ts';

/** What a run's loop and its tool rounds add to, over one call of `runLoop`. */
export interface LoopState {
  /** The conversation so far, as the model will see it next. */
  messages: ChatMessage[];
  /** The tools offered to the model; a call to another gets an error result. */
  offered: ReadonlySet<string>;
  /** Every tool call made, with its output or error. */
  toolCalls: ToolCallRecord[];
  /** What is not yet persisted (`commit`). */
  round: Round;
  /** The run's model calls so far. */
  modelCalls: number;
}

export const emptyRound = (): Round => ({ messages: [], steps: [], modelCalls: 0, usage: zeroUsage() });

/**
 * Runs a batch of tool calls at once; results join the conversation in the model's order. A result
 * that comes while other calls of the batch still run is recorded at once (with the text the model
 * will see), so a takeover reuses it; the last one is written with the round. Results in
 * `recorded` (written by a process that died) are reused, not run again.
 */
export async function runToolRound(
  input: LoopInput,
  state: LoopState,
  calls: ToolCall[],
  denied?: string,
  recorded?: ReadonlyMap<string, RecordedResult>,
): Promise<void> {
  const { signal } = input;
  // The turn the calls came from: a re-run of the same task that gets here makes the same keys.
  const turn = state.modelCalls;
  let running = calls.filter((c) => !recorded?.has(c.id)).length;
  // Results are emitted and recorded one after another: an event emitted while a statement that
  // writes events is in flight could take a lower seq yet become visible later (a gap for a follower).
  let chain: Promise<unknown> = Promise.resolve();
  const results = await Promise.all(
    calls.map(async (c, index) => {
      const name = c.function.name;
      const reused = recorded?.get(c.id);
      if (reused) return { c, reused };
      const startedAt = new Date().toISOString();
      const t0 = performance.now();
      let outcome = await inToolSpan(
        input.call,
        { name, callId: c.id },
        input.metrics,
        async (trace): Promise<ToolOutcome> => {
          if (!state.offered.has(name))
            return { ok: false, error: `tool ${name} is not available to this agent` };
          if (denied !== undefined && input.needsApproval(name))
            return { ok: false, error: `the user denied this tool call: ${denied}` };
          // A tool of the caller's: its result came with the caller's request that resumed the run.
          const supplied = input.resume?.supplied?.get(c.id);
          if (supplied !== undefined) return { ok: true, output: supplied };
          if (input.callerTools?.has(name))
            return { ok: false, error: `the caller sent no result for this call of ${name}` };
          if (input.localTools && Object.hasOwn(input.localTools, name))
            return input.localTools[name]!(c.function.arguments);
          return input.tools.execute(name, c.function.arguments, {
            ...input.toolContext,
            idempotencyKey: `${input.idempotencyKey}:${turn}.${index}`,
            signal,
            trace,
          });
        },
      );
      // Tool output is kept and serialized (events, steps, the next prompt): nesting is cut here,
      // the one place it enters the run, so a deep value cannot overflow JSON.stringify later.
      if (outcome.ok) outcome = { ok: true, output: boundDepth(outcome.output) };
      const durationMs = performance.now() - t0;
      const content = outcome.ok ? asText(outcome.output) : `Error: ${outcome.error}`;
      const step: NewStep = {
        kind: 'tool',
        name,
        tool_call_id: c.id,
        input: traceValue(parseArguments(c.function.arguments)),
        ...(outcome.ok ? { output: traceValue(outcome.output) } : { error: traceString(outcome.error) }),
        started_at: startedAt,
        duration_ms: round2(durationMs),
      };
      const ended = chain.then(async () => {
        input.emit(
          'tool_result',
          {
            id: c.id,
            name,
            ...(outcome.ok ? { output: outcome.output } : { error: outcome.error }),
            duration_ms: round2(durationMs),
          },
          true,
        );
        running -= 1;
        if (running === 0 || signal.aborted || input.recordEachStep === false) return false;
        await input.commit({ ...emptyRound(), steps: [{ ...step, result: content }] });
        return true;
      });
      // The chain only orders the writes; `ended` itself is awaited below and throws there.
      chain = ended.catch(() => {});
      const recordedNow = await ended;
      return recordedNow ? { c, outcome, content } : { c, outcome, content, step };
    }),
  );
  if (signal.aborted) throw signal.reason;
  for (const r of results) {
    const { c } = r;
    const content = 'reused' in r ? r.reused!.content : r.content;
    const message: ChatMessage = { role: 'tool', content, tool_call_id: c.id };
    state.messages.push(message);
    state.round.messages.push({ ...message, tool_call_id: c.id, tokens: estimateTokens(content) });
    if ('step' in r && r.step) state.round.steps.push(r.step);
    const ended =
      'reused' in r
        ? r.reused!.error === undefined
          ? { output: r.reused!.output }
          : { error: r.reused!.error }
        : r.outcome.ok
          ? { output: r.outcome.output }
          : { error: r.outcome.error };
    state.toolCalls.push({ ...toRecord(c), ...ended });
  }
  await input.commit(state.round);
  state.round = emptyRound();
}

function asText(output: unknown): string {
  return typeof output === 'string' ? output : JSON.stringify(output);
}

const round2 = (ms: number) => Math.round(ms * 100) / 100;
