import type { CompletionRequest } from '../types.ts';
import { contentWords } from './mock-rules.ts';

/**
 * The mock model as an evaluation judge (`mock/judge`), so LLM-judge evaluators run offline and the
 * same case always gets the same score. The last user message is the case as JSON (`rubric`,
 * `input`, `output`, `expected`: what `eval/evaluators/llm-judge.ts` sends); the answer is
 * `{"score": s, "reason": "…"}` where s is 1 when the output holds the expected text, else the
 * share of the expected text's content words found in the output (two decimals). With no expected
 * output, a non-empty output scores 1. Anything it cannot read scores 0 and says why. With a
 * `score_range` in the case the score is put on that scale. A pairwise case (`a` and `b`, what
 * `pairwise-judge.ts` sends) gets `{"winner": "a" | "b" | "tie", …}`: the answer scoring higher
 * by the same rule wins.
 */
export const MOCK_JUDGE_MODEL = 'judge';

export function mockJudgeAnswer(request: CompletionRequest): string {
  const last = request.messages.at(-1);
  let kase: {
    output?: unknown;
    expected?: unknown;
    a?: unknown;
    b?: unknown;
    score_range?: { min: number; max: number };
  };
  try {
    kase = JSON.parse(last?.content ?? '');
  } catch {
    return verdict(0, 'mock judge: the case is not JSON');
  }
  if (!kase || typeof kase !== 'object') return verdict(0, 'mock judge: the case is not a JSON object');
  if ('a' in kase && 'b' in kase) {
    const a = judge(text(kase.a), text(kase.expected)).score;
    const b = judge(text(kase.b), text(kase.expected)).score;
    const winner = a === b ? 'tie' : a > b ? 'a' : 'b';
    return JSON.stringify({ winner, reason: `mock judge: a scores ${a}, b scores ${b}` });
  }
  const { score, reason } = judge(text(kase.output), text(kase.expected));
  const r = kase.score_range;
  return verdict(r ? Math.round((r.min + score * (r.max - r.min)) * 100) / 100 : score, reason);
}

function judge(output: string, expected: string): { score: number; reason: string } {
  if (!expected)
    return {
      score: output ? 1 : 0,
      reason: output ? 'mock judge: an answer was given' : 'mock judge: no answer',
    };
  if (output.toLowerCase().includes(expected.toLowerCase()))
    return { score: 1, reason: 'mock judge: the output holds the expected answer' };
  const want = contentWords(expected);
  const have = new Set(contentWords(output));
  const found = want.filter((w) => have.has(w));
  const score = want.length === 0 ? 0 : Math.round((found.length / want.length) * 100) / 100;
  return { score, reason: `mock judge: ${found.length} of ${want.length} expected words found` };
}

const text = (v: unknown): string =>
  v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);

const verdict = (score: number, reason: string) => JSON.stringify({ score, reason });
