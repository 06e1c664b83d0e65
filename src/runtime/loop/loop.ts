import {
  isStructured,
  type StructuredFormat,
  structuredOutputError,
} from '../../models/structured-output.ts';
import type {
  CallContext,
  CallTiming,
  ChatMessage,
  Completion,
  CompletionRequest,
  FinishReason,
  ModelGateway,
  ResponseFormat,
  ToolCall,
  ToolSpec,
  Usage,
} from '../../models/types.ts';
import { addUsage, zeroUsage } from '../../models/usage-details.ts';
import type { AgentMetrics } from '../../observability/agent-metrics.ts';
import type { ToolRegistry } from '../../tools/registry.ts';
import type { ToolContext, ToolOutcome } from '../../tools/types.ts';
import { type NewMessage, toRecord } from '../runs/rows.ts';
import type { ToolCallRecord } from '../schema.ts';
import { traceString, traceValue } from '../trace/value.ts';
import { LoopError, type Resume, type Round, RunDrained } from '../types.ts';
import { emptyRound, type LoopState, runToolRound } from './tool-round.ts';

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
  /**
   * Structured output the final answer must be (JSON mode or a JSON Schema): asked of the model on
   * every call; an answer that is not is asked for again once (one call beyond `maxSteps` allowed),
   * then the loop fails with `invalid_output`. Its text is emitted only once checked.
   */
  responseFormat?: ResponseFormat | null;
  /** Model calls the run has made before this call (a resumed run keeps counting). */
  modelCalls: number;
  /** True for tools that need a human's approval before they run (COLLABORATIVE agents). */
  needsApproval(tool: string): boolean;
  /**
   * Tools the caller runs (offered in `toolSpecs`): a call to one pauses the loop like an approval,
   * and the caller's result comes back with `resume.supplied`.
   */
  callerTools?: ReadonlySet<string>;
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
  | (Ended & { kind: 'paused'; pending: ToolCall[]; needingApproval: ToolCall[]; forCaller: ToolCall[] });

export async function runLoop(input: LoopInput): Promise<LoopOutcome> {
  const { signal } = input;
  // What the loop and its tool rounds add to: the conversation, the round to persist, the calls made.
  const state: LoopState = {
    messages: [...input.messages],
    offered: new Set(input.toolSpecs.map((t) => t.function.name)),
    toolCalls: [],
    round: emptyRound(),
    modelCalls: input.modelCalls,
  };
  const { messages, offered, toolCalls } = state;
  let usage = zeroUsage();
  const format = isStructured(input.responseFormat) ? input.responseFormat : undefined;
  let retried = false;

  const checkAbort = () => {
    if (signal.aborted) throw signal.reason;
  };
  /** At a step boundary: everything before it is recorded, so a drained run stops here. */
  const checkDrain = () => {
    if (input.drain?.aborted) throw new RunDrained();
  };

  if (input.resume) {
    const { toolCalls: pending, approved, reason, recorded, takeover, supplied } = input.resume;
    // The caller's results were announced when they came (runtime.ts `supplyToolResults`).
    if (!takeover && !supplied) {
      input.emit(approved ? 'approval_granted' : 'approval_denied', {
        tool_calls: pending.filter((c) => input.needsApproval(c.function.name)).map((c) => c.id),
        ...(approved ? {} : { reason }),
      });
    }
    await runToolRound(input, state, pending, approved ? undefined : (reason ?? 'no reason given'), recorded);
  }

  for (;;) {
    checkDrain();
    if (state.modelCalls >= input.maxSteps + (retried ? 1 : 0)) {
      throw new LoopError(
        'max_steps',
        `the agent did not reach a final answer within max_steps (${input.maxSteps}) model calls`,
        state.round,
      );
    }
    checkAbort();
    const answer = await modelTurn(input, state, format);
    checkAbort();
    usage = addUsage(usage, answer.usage);
    const calls = answer.message.tool_calls ?? [];
    const assistant: ChatMessage = {
      role: 'assistant',
      content: answer.message.content,
      ...(calls.length > 0 && { tool_calls: calls }),
    };
    const stored: NewMessage = { ...assistant, tokens: answer.usage.completion_tokens };
    if (calls.length === 0 && format) {
      const invalid = structuredOutputError(format, answer.message.content);
      if (invalid && retried) {
        throw new LoopError('invalid_output', `${invalid} (also when asked again)`, state.round);
      }
      if (invalid) {
        // Asked again with what was wrong; the invalid answer stays in the trace, not the history.
        retried = true;
        input.emit('output_invalid', { error: invalid, retry: true });
        messages.push(
          { ...assistant, content: echoed(assistant.content) },
          { role: 'user', content: correction(format, invalid) },
        );
        continue;
      }
    }
    // With structured output, text is shown only once checked (or with the tool calls it came with).
    if (format && answer.message.content) input.emit('text', { delta: answer.message.content });
    if (calls.length === 0) {
      state.round.messages.push(stored);
      return {
        kind: 'final',
        text: answer.message.content ?? '',
        model: answer.model,
        finishReason: answer.finish_reason,
        round: state.round,
        usage,
        toolCalls,
        modelCalls: state.modelCalls,
      };
    }
    for (const c of calls) input.emit('tool_call', toRecord(c));
    if (state.modelCalls >= input.maxSteps) {
      // The calls are not run: nothing could read their results. The assistant message is not kept
      // either, so the session's history never holds tool calls without their results.
      throw new LoopError(
        'max_steps',
        `the agent did not reach a final answer within max_steps (${input.maxSteps}) model calls ` +
          `(the last one still asked for ${calls.map((c) => c.function.name).join(', ')})`,
        state.round,
      );
    }
    state.round.messages.push(stored);
    messages.push(assistant);
    const needing = calls.filter((c) => offered.has(c.function.name) && input.needsApproval(c.function.name));
    const forCaller = calls.filter((c) => input.callerTools?.has(c.function.name));
    if (needing.length > 0 || forCaller.length > 0) {
      // No `approval_required` event from here: the caller writes it with the run's new status, so
      // a client that sees it can approve at once.
      return {
        kind: 'paused',
        pending: calls,
        needingApproval: needing,
        forCaller,
        round: state.round,
        usage,
        toolCalls,
        modelCalls: state.modelCalls,
      };
    }
    // The answer and the calls it asks for (their `tool_call` events: the calls' start) are
    // recorded before any runs: a process that takes the run over never asks the model again.
    if (input.recordEachStep !== false) {
      await input.commit(state.round);
      state.round = emptyRound();
    }
    checkDrain();
    await runToolRound(input, state, calls);
  }
}

/**
 * One model call on the conversation so far: its answer (text deltas emitted as they come), counted
 * and recorded as the round's model step.
 */
function modelTurn(
  input: LoopInput,
  state: LoopState,
  format: StructuredFormat | undefined,
): Promise<Completion> {
  const request: CompletionRequest = {
    model: input.model,
    messages: state.messages,
    ...(input.toolSpecs.length > 0 && { tools: input.toolSpecs }),
    ...(format && { response_format: format }),
  };
  const turn: TurnStart = {
    opening: openingOf(state),
    startedAt: new Date().toISOString(),
    t0: performance.now(),
    timing: {},
  };
  // A promise chain, not an async function: a run waits here for most of its life, and each
  // suspended async frame is heap (registers, context, promises) that every run in flight holds.
  const answering = input.streaming
    ? streamAnswer(input, request, turn.timing, !format)
    : completeAnswer(input, request, turn.timing, !format);
  return answering.then((answer) => recordModelStep(input, state, turn, answer));
}

/** What a model turn notes before its call, for the step it records after. */
interface TurnStart {
  opening: { system?: string; earlier?: number };
  startedAt: string;
  t0: number;
  timing: CallTiming;
}

/** Counts a model turn's answer and records it as the round's model step. */
function recordModelStep(
  input: LoopInput,
  state: LoopState,
  turn: TurnStart,
  answer: Completion,
): Completion {
  const { opening, startedAt, t0, timing } = turn;
  if (input.signal.aborted) throw input.signal.reason;
  state.modelCalls += 1;
  state.round.modelCalls += 1;
  state.round.usage = addUsage(state.round.usage, answer.usage);
  const calls = answer.message.tool_calls ?? [];
  state.round.steps.push({
    kind: 'model',
    name: answer.model,
    input: { messages: state.messages.length, tools: [...state.offered], ...opening },
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
  return answer;
}

/**
 * What the trace of a run's first model call adds, so the console can show the conversation as the
 * model saw it: the system prompt (as a trace keeps text) and how many earlier messages of the
 * session came before the run's own. Later calls add nothing: their new messages are the previous
 * call's answer and the tool results, which the trace holds already.
 */
function openingOf(state: LoopState): { system?: string; earlier?: number } {
  if (state.modelCalls > 0) return {};
  const system = state.messages
    .filter((m) => m.role === 'system' && m.content)
    .map((m) => m.content)
    .join('\n\n');
  const lastUser = state.messages.findLastIndex((m) => m.role === 'user');
  const earlier = state.messages.slice(0, Math.max(lastUser, 0)).filter((m) => m.role !== 'system').length;
  return { ...(system && { system: traceString(system) }), earlier };
}

/** One model answer, assembled from the stream; text deltas are emitted as they arrive. */
async function streamAnswer(
  input: LoopInput,
  request: CompletionRequest,
  timing: CallTiming,
  emitText: boolean,
): Promise<Completion> {
  let text = '';
  const calls: Array<{ id: string; name: string; args: string }> = [];
  let finish: { finish_reason: FinishReason; usage: Usage; model: string } | undefined;
  for await (const chunk of input.models.stream(request, { ...input.call, signal: input.signal, timing })) {
    if (chunk.type === 'text') {
      text += chunk.delta;
      if (emitText) input.emit('text', { delta: chunk.delta });
    } else if (chunk.type === 'tool_call') {
      calls[chunk.index] ??= { id: '', name: '', args: '' };
      const c = calls[chunk.index]!;
      if (chunk.id) c.id = chunk.id;
      if (chunk.name) c.name = chunk.name;
      c.args += chunk.arguments_delta;
    } else if (chunk.type === 'finish') {
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
  emitText: boolean,
): Promise<Completion> {
  const completion = await input.models.complete(request, { ...input.call, signal: input.signal, timing });
  // One `text` event with the whole answer: the run's stream reads the same, streamed or not.
  if (emitText && completion.message.content) input.emit('text', { delta: completion.message.content });
  return completion;
}

/**
 * Characters of a refused structured answer sent back to the model with the correction. The answer
 * can be as long as the model's output limit allows (the mock's up to a megabyte); the model needs
 * its beginning to see what it did, not all of it again in its prompt.
 */
export const ECHOED_ANSWER_MAX_CHARS = 8_000;

/** A refused answer as echoed for the retry: cut past `ECHOED_ANSWER_MAX_CHARS`, saying so. */
function echoed(content: string | null): string | null {
  if (content === null || content.length <= ECHOED_ANSWER_MAX_CHARS) return content;
  const rest = content.length - ECHOED_ANSWER_MAX_CHARS;
  return `${content.slice(0, ECHOED_ANSWER_MAX_CHARS)}… [${rest} more characters cut]`;
}

/** What the model is told when its answer was not the structured output asked for. */
function correction(format: StructuredFormat, invalid: string): string {
  const want =
    format.type === 'json_object'
      ? 'a JSON object'
      : `JSON that matches the schema ${format.json_schema.name}${
          format.json_schema.schema ? `: ${JSON.stringify(format.json_schema.schema)}` : ''
        }`;
  return `Your answer was not accepted: ${invalid}. Answer again with only ${want}, and nothing else.`;
}

const round2 = (ms: number) => Math.round(ms * 100) / 100;
