import { AppError } from '../errors.ts';
import type { ChatMessage, CompletionRequest, ResponseFormat, ToolCall, ToolSpec } from '../models/types.ts';

/**
 * The caller's tools on an agent model (agent-models.ts): what a request's `tools` and
 * `tool_choice` ask of the agent's run, and the tool results a caller's next request brings.
 *
 * - Tools the caller sends join the agent's own for the run; a call to one pauses the run (like an
 *   approval) and the door answers as a model that called it.
 * - `tool_choice` naming one function, or requiring a call with one tool sent, is the
 *   structured-output trick of several clients (LangChain `functionCalling`, the AI SDK's
 *   `generateObject` on Anthropic): that function's parameters
 *   become the run's answer format, and the answer comes back as a call of it.
 */
export interface CallerToolsPlan {
  /** Offered beside the agent's own tools (none when one is forced as the answer's format). */
  tools: ToolSpec[];
  /** The forced tool: the answer is returned as a call of it. */
  answerTool?: string;
  /** The answer's format for a forced tool. */
  responseFormat?: ResponseFormat;
}

export function callerToolsOf(request: CompletionRequest): CallerToolsPlan {
  const tools = (request.tools ?? []).map(plainSpec);
  const choice = request.tool_choice;
  if (tools.length === 0) {
    if (typeof choice === 'object') {
      throw new AppError(
        'bad_request',
        `tool_choice: names ${choice.function.name}, but no tools were sent`,
        {
          details: { param: 'tool_choice' },
        },
      );
    }
    return { tools: [] };
  }
  if (choice === 'none') return { tools: [] };
  // A call required with one tool sent forces that tool: the AI SDK's generateObject on Anthropic
  // sends its `json` tool alone with `tool_choice: {type: "any"}` (the Messages door's `required`).
  const name =
    typeof choice === 'object'
      ? choice.function.name
      : choice === 'required' && tools.length === 1
        ? tools[0]!.function.name
        : undefined;
  if (name === undefined) return { tools };
  const forced = tools.find((t) => t.function.name === name);
  if (!forced) {
    throw new AppError('bad_request', `tool_choice: ${name} is not among the tools sent`, {
      details: { param: 'tool_choice' },
    });
  }
  return {
    tools: [],
    answerTool: forced.function.name,
    responseFormat: {
      type: 'json_schema',
      json_schema: {
        name: forced.function.name,
        ...(forced.function.description && { description: forced.function.description }),
        schema: (forced.function.parameters as Record<string, unknown> | undefined) ?? { type: 'object' },
      },
    },
  };
}

/** The spec as the model is offered it: the wire's extra fields (`strict`, …) are not kept with the run. */
function plainSpec(t: ToolSpec): ToolSpec {
  const { name, description, parameters } = t.function;
  return {
    type: 'function',
    function: { name, ...(description && { description }), ...(parameters && { parameters }) },
  };
}

/**
 * The results a request brings for calls of the caller's tools: the tool messages that end its
 * history, by call id (their text). Undefined when the history does not end with tool results.
 */
export function toolResultsOf(messages: readonly ChatMessage[]): Map<string, string> | undefined {
  let start = messages.length;
  while (start > 0 && messages[start - 1]!.role === 'tool') start--;
  if (start === messages.length) return undefined;
  const asked = messages[start - 1];
  // Results alone (a Responses follow-up: `previous_response_id` + `function_call_output`) name
  // their calls by id only; the waiting run checks them.
  if (start === 0) return new Map(messages.map((m) => [m.tool_call_id ?? '', m.content ?? '']));
  if (asked?.role !== 'assistant' || !asked.tool_calls?.length) {
    throw new AppError(
      'bad_request',
      'messages: tool results must follow the assistant message whose tool_calls they answer',
      {
        details: { param: `messages[${start}]` },
      },
    );
  }
  const ids = new Set(asked.tool_calls.map((c) => c.id));
  const results = new Map<string, string>();
  messages.slice(start).forEach((m, i) => {
    if (!m.tool_call_id || !ids.has(m.tool_call_id)) {
      throw new AppError(
        'bad_request',
        `messages: the tool message's tool_call_id ${JSON.stringify(m.tool_call_id ?? null)} answers no call of the assistant message before it`,
        { details: { param: `messages[${start + i}].tool_call_id` } },
      );
    }
    results.set(m.tool_call_id, m.content ?? '');
  });
  return results;
}

/** The answer as a call of the forced tool: its arguments are the run's structured answer. */
export function answerCall(runId: string, name: string, json: string): ToolCall {
  return { id: `call_${runId.replaceAll('-', '')}`, type: 'function', function: { name, arguments: json } };
}
