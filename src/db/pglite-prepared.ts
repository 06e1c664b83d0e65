import type { PGlite } from '@electric-sql/pglite';
import { serialize } from 'pg-protocol';

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
        // The server infers the parameters' types; describing the statement tells them.
        exchange(serialize.parse({ name, text, types: [] }), serialize.describe({ type: 'S', name }), SYNC),
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
      const toText = this.pg.serializers[statement.paramTypes[i]!];
      return toText ? toText(value) : String(value);
    });
    const { messages } = await this.pg.execProtocol(
      // The unnamed portal on the statement, every parameter and result in text format.
      exchange(
        serialize.bind({ portal: '', statement: name, values }),
        serialize.describe({ type: 'P', name: '' }),
        EXECUTE,
        SYNC,
      ),
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

/** Concatenates the frontend messages of one exchange into the one buffer PGlite takes. */
const exchange = (...messages: Uint8Array[]) => Buffer.concat(messages);
const SYNC = serialize.sync();
/** Execute: every row of the unnamed portal. */
const EXECUTE = serialize.execute({ portal: '', rows: 0 });
