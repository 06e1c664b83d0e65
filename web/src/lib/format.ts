/**
 * The console's one way to write numbers, money, sizes, durations and times, so that two figures
 * side by side never read differently ("1797" beside "1,558", "$0.00" beside "$0.0000").
 */

const grouped = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

const missing = (v: unknown): v is null | undefined => v === null || v === undefined;

/** A whole count, grouped: 1,797. */
export const num = (n: number | null | undefined) => (missing(n) ? '—' : grouped.format(n));

/** A count with its noun, singular or plural: "1 message", "2,004 messages". */
export const count = (n: number, noun: string, plural = `${noun}s`) => `${num(n)} ${n === 1 ? noun : plural}`;

/**
 * US dollars: cents above a dollar, four decimals below it (model calls cost fractions of a cent),
 * nothing but "$0.00" for nothing.
 */
export function usd(n: number | null | undefined): string {
  if (missing(n)) return '—';
  if (n === 0) return '$0.00';
  const digits = Math.abs(n) < 1 ? 4 : 2;
  return `$${n.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;
}

/** A share as a percentage with one decimal: 12.5 %. */
export const percent = (r: number | null | undefined) => (missing(r) ? '—' : `${(r * 100).toFixed(1)} %`);

/** A size in bytes, KiB, MiB. */
export function bytes(n: number): string {
  if (n < 1024) return `${num(n)} B`;
  if (n < 1024 ** 2) return `${decimal.format(n / 1024)} KiB`;
  return `${decimal.format(n / 1024 ** 2)} MiB`;
}

/** A duration: 850 ms, 12.3 s, 4 min 5 s, 2 h 3 min. */
export function duration(ms: number | null | undefined): string {
  if (missing(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

/** An instant as date and time, in full (never cut to "1:27:3…": the tables keep it on one line). */
export const when = (iso: string | null | undefined) => (iso ? dateTime.format(new Date(iso)) : '—');

/** Values a trace or task carries (tool arguments, results) as readable text. */
export const pretty = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v, null, 2));

/** Time windows the filters offer, as the ISO instant they start at (undefined: any time). */
export const windows = { any: 0, '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 } as const;
export type Window = keyof typeof windows;
export const sinceOf = (w: Window) =>
  windows[w] ? new Date(Date.now() - windows[w]).toISOString() : undefined;
