import { estimateTokens } from '../models/tokens.ts';
import type {
  CallContext,
  CallTiming,
  ChatMessage,
  Completion,
  CompletionRequest,
  FinishReason,
  ModelGateway,
  ToolCall,
  ToolSpec,
  Usage,
} from '../models/types.ts';
import type { AgentMetrics } from '../observability/agent-metrics.ts';
import { boundDepth } from '../text/bound-depth.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import type { ToolContext, ToolOutcome } from '../tools/types.ts';
import { addUsage, type NewMessage, type NewStep, parseArguments, toRecord, zeroUsage } from './rows.ts';
import type { ToolCallRecord } from './schema.ts';
import { inToolSpan } from './tool-span.ts';
import { traceString, traceValue } from './trace-value.ts';

/**
 * The agent loop, on one agent and one conversation: call the model with the conversation and the
 * agent's tools → run the tool calls it asks for (in parallel) → append their results → call the
 * model again, until it answers without tool calls, until a tool needs a human's approval (the loop
 * returns `paused`; calling it again with `resume` carries on), or until `maxSteps` model calls
 * (an error). It knows nothing of sessions, runs or HTTP: it emits events and hands each finished
 * round to `commit`, which persists it. Swarms and DAGs reuse it by calling it per agent.
 */

export interface LoopInput {
  models: ModelGateway;
  tools: ToolRegistry;
  /** The model to call (`provider/model` or an alias). */
  model: string;
  /** The tools offered to the model; calls to any other tool get an error result. */
  toolSpecs: ToolSpec[];
  /** The conversation so far, system prompt first. Not modified. */
  messages: ChatMessage[];
  /** Identity for the gateway (tenant, agent, request); its `signal` is replaced by `signal`. */
  call: CallContext;
  /** Everything a tool call gets but its signal and its idempotency key. */
  toolContext: Omit<ToolContext, 'signal' | 'idempotencyKey'>;
  /** Each tool call's key is this, the model turn and the call's place in the turn (`runIdempotencyKey`). */
  idempotencyKey: string;
  /** Stream the model's answer (text deltas as events) rather than wait for it whole. */
  streaming: boolean;
  maxSteps: number;
  /** Model calls the run has made before this call (a resumed run keeps counting). */
  modelCalls: number;
  /** True for tools that need a human's approval before they run (COLLABORATIVE agents). */
  needsApproval(tool: string): boolean;
  /**
   * Tools that live with the caller rather than in the registry (a swarm's `transfer_to_<agent>`):
   * offered like the others (their specs are in `toolSpecs`), run by these handlers.
   */
  localTools?: Readonly<Record<string, (rawArguments: string) => Promise<ToolOutcome>>>;
  /** Carry on from a pause or a takeover (see `Resume`). */
  resume?: Resume;
  /** Aborts model and tool calls; the loop then throws the signal's reason. */
  signal: AbortSignal;
  /** When aborted, the loop stops at its next step boundary (all before it recorded) with `RunDrained`. */
  drain?: AbortSignal;
  /**
   * Record each model answer before its tool calls run, and each result as it ends (default). False:
   * a tool round is written once, when all its calls ended (a takeover then asks the model again).
   */
  recordEachStep?: boolean;
  /** Tool call durations and errors. */
  metrics?: AgentMetrics;
  /**
   * `withStep`: the event is written only with the next recorded step (`commit` or the round's
   * end), never before it: a tool's result shows in the stream exactly when it is recorded, so a
   * takeover that runs an unrecorded call again cannot show its result twice.
   */
  emit(type: string, data: Record<string, unknown>, withStep?: boolean): void;
  /** Persists a finished tool round; the loop waits for it before calling the model again. */
  commit(round: Round): Promise<void>;
}

/**
 * Carrying on with tool calls the conversation already holds: after a pause (a person approved or
 * denied them) or after a takeover (the process that ran them died; `recorded` holds the results
 * it wrote before it died, which are reused rather than run again).
 */
export interface Resume {
  toolCalls: ToolCall[];
  approved: boolean;
  reason?: string;
  recorded?: ReadonlyMap<string, RecordedResult>;
  /** A takeover: no approval event is written. */
  takeover?: boolean;
}

/** A tool result recorded on its own (other calls of its round were still running). */
export interface RecordedResult {
  name: string;
  /** What the model sees. */
  content: string;
  output?: unknown;
  error?: string;
}

/** The loop stopped at a step boundary because the process drains (graceful shutdown). */
export class RunDrained extends Error {
  constructor() {
    super('the process is shutting down; the run continues in another process');
    this.name = 'RunDrained';
  }
}

/** What one stretch of the loop produced, to persist together. */
export interface Round {
  messages: NewMessage[];
  steps: NewStep[];
  modelCalls: number;
  usage: Usage;
}

interface Ended {
  /** The last, uncommitted round: the caller writes it with the run's new state. */
  round: Round;
  /** Over this call of the loop. */
  usage: Usage;
  toolCalls: ToolCallRecord[];
  /** The run's model calls so far, this call of the loop included. */
  modelCalls: number;
}

export type LoopOutcome =
  | (Ended & { kind: 'final'; text: string; model: string; finishReason: FinishReason })
  | (Ended & { kind: 'paused'; pending: ToolCall[]; needingApproval: ToolCall[] });

/** The loop stopped for a reason of its own (max_steps); `round` still has to be persisted. */
export class LoopError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly round: Round,
  ) {
    super(message);
    this.name = 'LoopError';
  }
}

const emptyRound = (): Round => ({ messages: [], steps: [], modelCalls: 0, usage: zeroUsage() });

export async function runLoop(input: LoopInput): Promise<LoopOutcome> {
  const { signal } = input;
  const messages = [...input.messages];
  const offered = new Set(input.toolSpecs.map((t) => t.function.name));
  const toolCalls: ToolCallRecord[] = [];
  let usage = zeroUsage();
  let modelCalls = input.modelCalls;
  let round = emptyRound();

  const checkAbort = () => {
    if (signal.aborted) throw signal.reason;
  };
  /** At a step boundary: everything before it is recorded, so a drained run stops here. */
  const checkDrain = () => {
    if (input.drain?.aborted) throw new RunDrained();
  };

  /**
   * Runs a batch of tool calls at once; results join the conversation in the model's order. A result
   * that comes while other calls of the batch still run is recorded at once (with the text the model
   * will see), so a takeover reuses it; the last one is written with the round. Results in
   * `recorded` (written by a process that died) are reused, not run again.
   */
  const runTools = async (
    calls: ToolCall[],
    denied?: string,
    recorded?: ReadonlyMap<string, RecordedResult>,
  ) => {
    // The turn the calls came from: a re-run of the same task that gets here makes the same keys.
    const turn = modelCalls;
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
            if (!offered.has(name))
              return { ok: false, error: `tool ${name} is not available to this agent` };
            if (denied !== undefined && input.needsApproval(name))
              return { ok: false, error: `the user denied this tool call: ${denied}` };
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
        chain = ended.catch(() => {});
        const recordedNow = await ended;
        return recordedNow ? { c, outcome, content } : { c, outcome, content, step };
      }),
    );
    checkAbort();
    for (const r of results) {
      const { c } = r;
      const content = 'reused' in r ? r.reused!.content : r.content;
      const message: ChatMessage = { role: 'tool', content, tool_call_id: c.id };
      messages.push(message);
      round.messages.push({ ...message, tool_call_id: c.id, tokens: estimateTokens(content) });
      if ('step' in r && r.step) round.steps.push(r.step);
      const ended =
        'reused' in r
          ? r.reused!.error === undefined
            ? { output: r.reused!.output }
            : { error: r.reused!.error }
          : r.outcome.ok
            ? { output: r.outcome.output }
            : { error: r.outcome.error };
      toolCalls.push({ ...toRecord(c), ...ended });
    }
    await input.commit(round);
    round = emptyRound();
  };

  if (input.resume) {
    const { toolCalls: pending, approved, reason, recorded, takeover } = input.resume;
    if (!takeover) {
      input.emit(approved ? 'approval_granted' : 'approval_denied', {
        tool_calls: pending.filter((c) => input.needsApproval(c.function.name)).map((c) => c.id),
        ...(approved ? {} : { reason }),
      });
    }
    await runTools(pending, approved ? undefined : (reason ?? 'no reason given'), recorded);
  }

  for (;;) {
    checkDrain();
    if (modelCalls >= input.maxSteps) {
      throw new LoopError(
        'max_steps',
        `the agent did not reach a final answer within max_steps (${input.maxSteps}) model calls`,
        round,
      );
    }
    checkAbort();
    const request: CompletionRequest = {
      model: input.model,
      messages,
      ...(input.toolSpecs.length > 0 && { tools: input.toolSpecs }),
    };
    const startedAt = new Date().toISOString();
    const t0 = performance.now();
    const timing: CallTiming = {};
    const answer = input.streaming
      ? await streamAnswer(input, request, timing)
      : await completeAnswer(input, request, timing);
    checkAbort();
    modelCalls += 1;
    round.modelCalls += 1;
    round.usage = addUsage(round.usage, answer.usage);
    usage = addUsage(usage, answer.usage);
    const calls = answer.message.tool_calls ?? [];
    round.steps.push({
      kind: 'model',
      name: answer.model,
      input: { messages: messages.length, tools: [...offered] },
      output: {
        // As a trace keeps text (redacted, cut): the answer may repeat a credential a tool quoted.
        content: answer.message.content === null ? null : traceString(answer.message.content),
        ...(calls.length > 0 && { tool_calls: traceValue(calls.map(toRecord)) }),
        finish_reason: answer.finish_reason,
      },
      usage: answer.usage,
      ...(timing.cost !== undefined && { cost: timing.cost }),
      started_at: startedAt,
      duration_ms: round2(performance.now() - t0),
    });
    const assistant: ChatMessage = {
      role: 'assistant',
      content: answer.message.content,
      ...(calls.length > 0 && { tool_calls: calls }),
    };
    const stored: NewMessage = { ...assistant, tokens: answer.usage.completion_tokens };
    if (calls.length === 0) {
      round.messages.push(stored);
      return {
        kind: 'final',
        text: answer.message.content ?? '',
        model: answer.model,
        finishReason: answer.finish_reason,
        round,
        usage,
        toolCalls,
        modelCalls,
      };
    }
    for (const c of calls) input.emit('tool_call', toRecord(c));
    if (modelCalls >= input.maxSteps) {
      // The calls are not run: nothing could read their results. The assistant message is not kept
      // either, so the session's history never holds tool calls without their results.
      throw new LoopError(
        'max_steps',
        `the agent did not reach a final answer within max_steps (${input.maxSteps}) model calls ` +
          `(the last one still asked for ${calls.map((c) => c.function.name).join(', ')})`,
        round,
      );
    }
    round.messages.push(stored);
    messages.push(assistant);
    const needing = calls.filter((c) => offered.has(c.function.name) && input.needsApproval(c.function.name));
    if (needing.length > 0) {
      // No `approval_required` event from here: the caller writes it with the run's new status, so
      // a client that sees it can approve at once.
      return {
        kind: 'paused',
        pending: calls,
        needingApproval: needing,
        round,
        usage,
        toolCalls,
        modelCalls,
      };
    }
    // The answer and the calls it asks for (their `tool_call` events: the calls' start) are
    // recorded before any runs: a process that takes the run over never asks the model again.
    if (input.recordEachStep !== false) {
      await input.commit(round);
      round = emptyRound();
    }
    checkDrain();
    await runTools(calls);
  }
}

/** One model answer, assembled from the stream; text deltas are emitted as they arrive. */
async function streamAnswer(
  input: LoopInput,
  request: CompletionRequest,
  timing: CallTiming,
): Promise<Completion> {
  let text = '';
  const calls: Array<{ id: string; name: string; args: string }> = [];
  let finish: { finish_reason: FinishReason; usage: Usage; model: string } | undefined;
  for await (const chunk of input.models.stream(request, { ...input.call, signal: input.signal, timing })) {
    if (chunk.type === 'text') {
      text += chunk.delta;
      input.emit('text', { delta: chunk.delta });
    } else if (chunk.type === 'tool_call') {
      calls[chunk.index] ??= { id: '', name: '', args: '' };
      const c = calls[chunk.index]!;
      if (chunk.id) c.id = chunk.id;
      if (chunk.name) c.name = chunk.name;
      c.args += chunk.arguments_delta;
    } else {
      finish = chunk;
    }
  }
  if (!finish) throw new Error('the model stream ended without a finish');
  const toolCalls: ToolCall[] = calls
    .filter(Boolean)
    .map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.args } }));
  return {
    id: '',
    model: finish.model,
    message: {
      role: 'assistant',
      content: text || null,
      ...(toolCalls.length > 0 && { tool_calls: toolCalls }),
    },
    finish_reason: finish.finish_reason,
    usage: finish.usage,
  };
}

async function completeAnswer(
  input: LoopInput,
  request: CompletionRequest,
  timing: CallTiming,
): Promise<Completion> {
  const completion = await input.models.complete(request, { ...input.call, signal: input.signal, timing });
  // One `text` event with the whole answer: the run's stream reads the same, streamed or not.
  if (completion.message.content) input.emit('text', { delta: completion.message.content });
  return completion;
}

function asText(output: unknown): string {
  return typeof output === 'string' ? output : JSON.stringify(output);
}

const round2 = (ms: number) => Math.round(ms * 100) / 100;
