/** Small display helpers shared by the operations pages (tasks, runs, knowledge, usage, settings). */

export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export const usd = (n: number | null | undefined) =>
  n === null || n === undefined ? '—' : `$${n < 0.01 && n > 0 ? n.toPrecision(2) : n.toFixed(2)}`;

/** Values a trace or task carries (tool arguments, results) as readable text. */
export const pretty = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v, null, 2));

/** Time windows the filters offer, as the ISO instant they start at (undefined: any time). */
export const windows = { any: 0, '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 } as const;
export type Window = keyof typeof windows;
export const sinceOf = (w: Window) =>
  windows[w] ? new Date(Date.now() - windows[w]).toISOString() : undefined;
