/**
 * How commands print: aligned plain-text tables and `key: value` blocks for people, the raw JSON
 * answer for scripts (`--json`). Plain columns rather than a box-drawing table library, so the
 * output stays greppable and `cut`/`awk` friendly, like kubectl's.
 */

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
  /** Longer cells are cut with an ellipsis so one wordy field cannot wreck the table. */
  max?: number;
}

export type Write = (text: string) => void;
const stdout: Write = (text) => process.stdout.write(text);

/** Renders a cell: lists joined by commas, absent values as "-", newlines flattened. */
export function cell(value: unknown, max = 60): string {
  let text: string;
  if (value === null || value === undefined || value === '') text = '-';
  else if (Array.isArray(value)) text = value.length === 0 ? '-' : value.map(String).join(',');
  else if (typeof value === 'object') text = JSON.stringify(value);
  else text = String(value);
  text = text.replace(/\s*\n\s*/g, ' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Formats rows as left-aligned columns under an upper-case header; "(none)" for no rows. */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  if (rows.length === 0) return '(none)\n';
  const cells = rows.map((row) => columns.map((c) => cell(c.value(row), c.max)));
  const headers = columns.map((c) => c.header.toUpperCase());
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...cells.map(line)].join('\n')}\n`;
}

/** Formats one record as aligned `label: value` lines. */
export function formatRecord(fields: ReadonlyArray<[label: string, value: unknown]>): string {
  const width = Math.max(...fields.map(([label]) => label.length)) + 1;
  return fields.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${cell(value, 200)}\n`).join('');
}

export const printJson = (value: unknown, write: Write = stdout) =>
  write(`${JSON.stringify(value, null, 2)}\n`);

/** `--json` prints the answer as it came; otherwise the human form. */
export function print(json: boolean | undefined, value: unknown, human: () => string, write: Write = stdout) {
  if (json) printJson(value, write);
  else write(human());
}

/** ISO time as `YYYY-MM-DD HH:MM` UTC: enough to tell rows apart at a glance. */
export const shortTime = (iso: string | null | undefined) =>
  iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : null;
