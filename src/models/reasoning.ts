/**
 * OpenAI's reasoning efforts and thinking budgets (Anthropic's `budget_tokens`, Gemini's
 * `thinkingBudget`), one in terms of the other, for providers that take the one the caller did not
 * send (docs/providers.md). The budgets are those Google's OpenAI-compatible endpoint maps efforts to.
 */
const effortBudgets: Record<string, number> = {
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 24_576,
  xhigh: 32_000,
};

/** The thinking budget of an effort; an effort of a vendor's own (`max`) counts as medium. */
export function budgetOf(effort: string): number {
  return effortBudgets[effort] ?? effortBudgets.medium!;
}

/** The effort of a thinking budget: the inverse of `budgetOf` on its table. */
export function effortOf(budget: number): 'low' | 'medium' | 'high' {
  return budget < 4096 ? 'low' : budget < 16_384 ? 'medium' : 'high';
}
