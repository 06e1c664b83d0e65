import type { PGlite } from '@electric-sql/pglite';

/**
 * Named statements on PGlite. Its `query()` parses, analyses and plans every statement again, in six
 * calls into the WebAssembly backend (parse, describe, bind, describe, execute, sync). For the large
 * statements of a chat turn (begin, advance) that was most of the turn: parsing and planning one
 * cost ~3 ms against ~1 ms to execute it. A statement given a name (QueryOptions.name) is parsed
 * once here under that name, and each call after is one call into the backend: bind, describe,
 * execute and sync in one message. Parameters and results go through PGlite's own serializers and
 * parsers, so a named statement answers exactly as `query()` would.
 */

interface Field {
  name: string;
  dataTypeID: number;
}
type Message =
  | { name: 'parameterDescription'; dataTypeIDs: number[] }
  | { name: 'rowDescription'; fields: Field[] }
  | { name: 'dataRow'; fields: (string | null)[] }
  | { name: string };

export class PreparedStatements {
  /** Parameter types of each statement parsed, by name; the text it was parsed from. */
  private readonly parsed = new Map<string, { text: string; paramTypes: number[] }>();

  constructor(private readonly pg: PGlite) {}

  /** Whether `name` can run `text` here (a name is parsed with one text only). */
  accepts(name: string, text: string): boolean {
    const known = this.parsed.get(name);
    return !known || known.text === text;
  }

  /**
   * Runs `text` as the named statement `name`, parsing it first if needed. Called in PGlite's
   * exclusive section (no other statement or transaction in between); `syncToFs` false inside a
   * transaction, whose commit writes the files.
   */
  async run<R>(name: string, text: string, params: readonly unknown[], syncToFs = true): Promise<R[]> {
    let statement = this.parsed.get(name);
    if (!statement) {
      const { messages } = await this.pg.execProtocol(
        concat([parse(name, text), describe('S', name), SYNC]),
        {
          syncToFs: false,
        },
      );
      const description = (messages as Message[]).find((m) => m.name === 'parameterDescription');
      statement = {
        text,
        paramTypes: description && 'dataTypeIDs' in description ? description.dataTypeIDs : [],
      };
      this.parsed.set(name, statement);
    }
    const values = params.map((value, i) => {
      if (value === null || value === undefined) return null;
      const serialize = this.pg.serializers[statement.paramTypes[i]!];
      return serialize ? serialize(value) : String(value);
    });
    const { messages } = await this.pg.execProtocol(
      concat([bind(name, values), describe('P', ''), EXECUTE, SYNC]),
      { syncToFs },
    );
    let fields: Field[] = [];
    const rows: R[] = [];
    for (const m of messages as Message[]) {
      if (m.name === 'rowDescription' && 'fields' in m) fields = m.fields as Field[];
      else if (m.name === 'dataRow' && 'fields' in m)
        rows.push(this.row<R>(fields, m.fields as (string | null)[]));
    }
    return rows;
  }

  private row<R>(fields: Field[], values: (string | null)[]): R {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < fields.length; i++) {
      const { name, dataTypeID } = fields[i]!;
      const text = values[i];
      const parser = this.pg.parsers[dataTypeID];
      row[name] = text === null || text === undefined ? null : parser ? parser(text, dataTypeID) : text;
    }
    return row as R;
  }
}

// The frontend messages of PostgreSQL's extended query protocol (protocol version 3).
const encoder = new TextEncoder();

function message(type: string, parts: Uint8Array[]): Uint8Array {
  const length = 4 + parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(1 + length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setInt32(1, length);
  let at = 5;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const cstring = (s: string) => encoder.encode(`${s}\0`);
const int16 = (n: number) => new Uint8Array([(n >> 8) & 0xff, n & 0xff]);
const int32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n);
  return b;
};

/** Parse: the statement under `name`, its parameter types inferred by the server. */
const parse = (name: string, text: string) => message('P', [cstring(name), cstring(text), int16(0)]);

const describe = (kind: 'S' | 'P', name: string) =>
  message('D', [new Uint8Array([kind.charCodeAt(0)]), cstring(name)]);

/** Bind: the unnamed portal on statement `name`, every parameter and result in text format. */
function bind(name: string, values: (string | null)[]): Uint8Array {
  const parts = [cstring(''), cstring(name), int16(0), int16(values.length)];
  for (const v of values) {
    if (v === null) parts.push(int32(-1));
    else {
      const bytes = encoder.encode(v);
      parts.push(int32(bytes.length), bytes);
    }
  }
  parts.push(int16(0));
  return message('B', parts);
}

const EXECUTE = message('E', [cstring(''), int32(0)]);
const SYNC = message('S', []);

function concat(messages: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(messages.reduce((n, m) => n + m.length, 0));
  let at = 0;
  for (const m of messages) {
    out.set(m, at);
    at += m.length;
  }
  return out;
}
