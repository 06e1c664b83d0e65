import { z } from 'zod';
import { binary, defineEvaluator, type EvalTrace } from './types.ts';

/** Evaluators over the run's trace: the tools it called, its latency, tokens and cost. */

/** `want` holds in `got`: equal scalars, objects whose every listed key matches, arrays element by element. */
export function matches(want: unknown, got: unknown): boolean {
  if (want === null || typeof want !== 'object') return Object.is(want, got) || want === got;
  if (Array.isArray(want))
    return Array.isArray(got) && want.length === got.length && want.every((w, i) => matches(w, got[i]));
  if (got === null || typeof got !== 'object' || Array.isArray(got)) return false;
  return Object.entries(want).every(([k, v]) => matches(v, (got as Record<string, unknown>)[k]));
}

const argsOf = (a: unknown): unknown => {
  if (typeof a !== 'string') return a;
  try {
    return JSON.parse(a);
  } catch {
    return a;
  }
};

export const toolCalled = defineEvaluator({
  description:
    'The run called `tool`; with `arguments`, at least one call whose arguments hold those (keys not listed are ignored).',
  cheap: true,
  params: z
    .object({ tool: z.string().min(1).max(200), arguments: z.record(z.string(), z.unknown()).optional() })
    .strict(),
  create: (p) => async (c) => {
    const calls = c.trace.tool_calls.filter((t) => t.name === p.tool);
    if (calls.length === 0)
      return binary(
        false,
        `${p.tool} was not called${c.trace.tool_calls.length ? ` (called: ${[...new Set(c.trace.tool_calls.map((t) => t.name))].join(', ')})` : ''}`,
      );
    if (!p.arguments) return binary(true);
    const ok = calls.some((t) => matches(p.arguments, argsOf(t.arguments)));
    return binary(
      ok,
      ok ? undefined : `${p.tool} was called, never with arguments matching ${JSON.stringify(p.arguments)}`,
    );
  },
});

const under = (what: string, pick: (t: EvalTrace) => number, unit: string) =>
  defineEvaluator({
    description: `The run's ${what} is at most \`max\`.`,
    cheap: true,
    params: z.object({ max: z.number().min(0) }).strict(),
    create: (p) => async (c) => {
      const v = pick(c.trace);
      return binary(v <= p.max, `${what} ${Number(v.toPrecision(6))}${unit} (max ${p.max}${unit})`);
    },
  });

export const latencyUnder = under('latency', (t) => t.latency_ms, ' ms');
export const tokensUnder = under('tokens', (t) => t.tokens, '');
export const costUnder = under('cost', (t) => t.cost_usd, ' USD');
