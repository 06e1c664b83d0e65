import { AppError } from '../errors.ts';
import type { CompletionRequest } from './types.ts';

/** A request field a provider cannot honour, and why: the gateway refuses the call with a 400. */
export interface Unsupported {
  /** The field, as OpenAI's `param` names it (`seed`, `messages[1].content[0]`). */
  param: string;
  reason: string;
}

/** A 400 naming the request field at fault, rendered as OpenAI's `param` on the OpenAI routes. */
export function badParam(param: string, message: string): AppError {
  return new AppError('bad_request', message, { details: { param } });
}

/**
 * Values that ask for nothing beyond the default: a provider that lacks the feature honours them
 * by doing what it does anyway (LangChain and others send some of them on every call).
 */
const defaults: Record<string, unknown> = {
  logprobs: false,
  top_logprobs: 0,
  store: false,
  parallel_tool_calls: true,
  frequency_penalty: 0,
  presence_penalty: 0,
  n: 1,
};

/**
 * The first of the request's extra fields this provider cannot honour: one not in `honoured` whose
 * value asks for something (not null, not OpenAI's default); or the request's reasoning settings, for
 * a provider that does not take them (`takesReasoning`).
 */
export function firstUnhonoured(
  request: CompletionRequest,
  provider: string,
  honoured: ReadonlySet<string>,
  takesReasoning = false,
): Unsupported | undefined {
  for (const [field, value] of Object.entries(request.extra ?? {})) {
    if (honoured.has(field) || value === null || value === undefined) continue;
    if (Object.hasOwn(defaults, field) && defaults[field] === value) continue;
    return { param: field, reason: `${field} is not supported by ${provider} models` };
  }
  const r = request.reasoning;
  const asksReasoning =
    r && ((r.effort && r.effort !== 'none') || r.budget_tokens !== undefined || r.anthropic);
  if (asksReasoning && !takesReasoning) {
    return {
      param: 'reasoning_effort',
      reason: `reasoning settings (reasoning_effort, reasoning, thinking) are not supported by ${provider} models`,
    };
  }
  return undefined;
}
