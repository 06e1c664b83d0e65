import { LineSplitter } from '../../text/line-splitter.ts';
import { type LineError, type NewItem, newItem } from './schema.ts';

/**
 * Bulk import of dataset items: JSONL (one item per line, as POST …/items takes it) and CSV (a header
 * row naming columns `input` or `message`, `task_type`, `payload`, `expected`, `metadata`, `tags`).
 * Every line is checked on its own: a bad line is reported by number and the others still import.
 */

export interface Parsed {
  items: NewItem[];
  errors: LineError[];
}

const MAX_ERRORS = 1000;

function check(value: unknown, line: number, out: Parsed): void {
  const parsed = newItem.safeParse(value);
  if (parsed.success) {
    out.items.push(parsed.data);
    return;
  }
  if (out.errors.length < MAX_ERRORS)
    out.errors.push({
      line,
      message: parsed.error.issues
        .map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`)
        .join('; '),
    });
}

/**
 * JSONL pushed piece by piece as a body arrives: each line is checked when its newline comes, so a
 * large import never holds its whole text, only the items read.
 */
export class JsonlReader {
  private readonly out: Parsed = { items: [], errors: [] };
  private readonly lines = new LineSplitter((text) => this.line(text));
  private lineNo = 0;

  push(text: string): void {
    this.lines.push(text);
  }

  end(): Parsed {
    this.lines.end();
    return this.out;
  }

  private line(text: string): void {
    this.lineNo++;
    const line = text.trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      if (this.out.errors.length < MAX_ERRORS)
        this.out.errors.push({ line: this.lineNo, message: `not JSON: ${(err as Error).message}` });
      return;
    }
    check(value, this.lineNo, this.out);
  }
}

/** RFC 4180 records with the line each starts on: quoted fields may hold commas, quotes ("") and newlines. */
export function csvRecords(text: string): { line: number; fields: string[] }[] {
  const records: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      any = true;
    } else if (c === ',') {
      fields.push(field);
      field = '';
      any = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      if (any || field !== '') records.push({ line: start, fields: [...fields, field] });
      fields = [];
      field = '';
      any = false;
      line++;
      start = line;
    } else {
      field += c;
      any = true;
    }
  }
  if (any || field !== '') records.push({ line: start, fields: [...fields, field] });
  return records;
}

const COLUMNS = new Set([
  'input',
  'message',
  'task_type',
  'payload',
  'title',
  'expected',
  'metadata',
  'tags',
]);
const JSON_COLUMNS = new Set(['payload', 'metadata']);

export function parseCsv(text: string): Parsed {
  const out: Parsed = { items: [], errors: [] };
  const [header, ...rows] = csvRecords(text.replace(/^\uFEFF/, ''));
  if (!header) return out;
  const names = header.fields.map((f) => f.trim());
  const unknown = names.filter((n) => !COLUMNS.has(n));
  if (
    unknown.length > 0 ||
    !(names.includes('input') || names.includes('message') || names.includes('task_type'))
  ) {
    out.errors.push({
      line: header.line,
      message:
        unknown.length > 0
          ? `unknown column(s) ${unknown.join(', ')}; known: ${[...COLUMNS].join(', ')}`
          : 'the header needs an input, message or task_type column',
    });
    return out;
  }
  for (const row of rows) {
    if (row.fields.length !== names.length) {
      out.errors.push({
        line: row.line,
        message: `${row.fields.length} fields, the header has ${names.length}`,
      });
      continue;
    }
    try {
      check(csvItem(names, row.fields), row.line, out);
    } catch (err) {
      if (out.errors.length < MAX_ERRORS)
        out.errors.push({ line: row.line, message: (err as Error).message });
    }
  }
  return out;
}

/** One CSV row as an item: `input`/`message` is the chat message; JSON columns are parsed; tags split on `|` or `;`. */
function csvItem(names: string[], fields: string[]): Record<string, unknown> {
  const cell: Record<string, string> = {};
  names.forEach((n, i) => {
    cell[n] = fields[i]!;
  });
  const json = (name: string) => {
    const v = cell[name];
    if (v === undefined || v === '') return undefined;
    if (!JSON_COLUMNS.has(name)) return v;
    try {
      return JSON.parse(v);
    } catch {
      throw new Error(`${name}: not JSON`);
    }
  };
  const message = cell.message ?? cell.input;
  const input = cell.task_type
    ? {
        task_type: cell.task_type,
        ...(json('payload') !== undefined && { payload: json('payload') }),
        ...(cell.title && { title: cell.title }),
      }
    : { message };
  return {
    input,
    ...(cell.expected !== undefined && cell.expected !== '' && { expected: cell.expected }),
    ...(json('metadata') !== undefined && { metadata: json('metadata') }),
    ...(cell.tags && {
      tags: cell.tags
        .split(/[|;]/)
        .map((t) => t.trim())
        .filter(Boolean),
    }),
  };
}
