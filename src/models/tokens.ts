import type { ChatMessage, ToolSpec } from './types.ts';

/**
 * A cheap token estimate (about four characters per token, plus a few per message), used for the
 * worst-case budget reservation before a call and by the mock provider's usage. It never needs to
 * be exact: reservations are reconciled to the provider's reported usage after the call.
 */
export function estimateTokens(text: string): number {
  return tokensForChars(text.length);
}

/** The estimate for a text of `chars` characters, when only its length was kept. */
export function tokensForChars(chars: number): number {
  return Math.ceil(chars / 4);
}

export function estimatePromptTokens(messages: readonly ChatMessage[], tools?: readonly ToolSpec[]): number {
  let total = 3;
  for (const m of messages) {
    total += 4 + estimateTokens(m.content ?? '');
    for (const call of m.tool_calls ?? []) {
      total += 3 + estimateTokens(call.function.name) + estimateTokens(call.function.arguments);
    }
  }
  // Tool definitions count against the prompt; their JSON is a fair proxy for the provider's rendering.
  if (tools && tools.length > 0) total += estimateTokens(JSON.stringify(tools));
  return total;
}
