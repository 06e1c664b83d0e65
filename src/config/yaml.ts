import { type Document, isMap, isNode, isScalar, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { AppError } from '../errors.ts';

type Key = string | number;

interface Located {
  line: number;
  col: number;
  text: string;
}

const byPosition = (a: Located, b: Located) => a.line - b.line || a.col - b.col;

function fail(file: string, located: Located[]): never {
  const lines = located.sort(byPosition).map((l) => `${file}:${l.line}:${l.col}: ${l.text}`);
  throw new AppError('config_error', lines.join('\n'));
}

/** Start offset of the node at `path`, walking up to the closest node that exists. */
function offsetOf(doc: Document, path: readonly Key[]): number {
  let keys = [...path];
  let node: unknown = keys.length === 0 ? doc.contents : doc.getIn(keys, true);
  while (!isNode(node) && keys.length > 0) {
    keys = keys.slice(0, -1);
    node = keys.length === 0 ? doc.contents : doc.getIn(keys, true);
  }
  return isNode(node) && node.range ? node.range[0] : 0;
}

/** Start offset of the key `key` inside the mapping at `path` (where an unknown field is written). */
function keyOffsetOf(doc: Document, path: readonly Key[], key: string): number | undefined {
  const map = path.length === 0 ? doc.contents : doc.getIn(path, true);
  if (!isMap(map)) return undefined;
  const pair = map.items.find((p) => (isScalar(p.key) ? String(p.key.value) : p.key) === key);
  return isNode(pair?.key) && pair.key.range ? pair.key.range[0] : undefined;
}

/**
 * Parses YAML and validates it; every error names the file, the line and column, and the field,
 * because a config mistake is found by the person reading the message, not by a debugger.
 * Shape of each line: `<file>:<line>:<col>: <field.path>: <what is wrong>`.
 */
export function parseYamlWithSchema<S extends z.ZodType>(text: string, file: string, schema: S): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    fail(
      file,
      doc.errors.map((e) => ({ ...lineCounter.linePos(e.pos[0]), text: e.message.split('\n')[0]! })),
    );
  }
  const parsed = schema.safeParse(doc.toJS() ?? {});
  if (parsed.success) return parsed.data;

  const located = parsed.error.issues.flatMap((issue): Located[] => {
    const path = issue.path as Key[];
    if (issue.code === 'unrecognized_keys') {
      // One line per unknown key, pointing at the key itself rather than at its parent.
      return issue.keys.map((key) => {
        const offset = keyOffsetOf(doc, path, key) ?? offsetOf(doc, path);
        return { ...lineCounter.linePos(offset), text: `${[...path, key].join('.')}: unknown field` };
      });
    }
    const at = lineCounter.linePos(offsetOf(doc, path));
    return [{ ...at, text: `${path.join('.') || '(root)'}: ${issue.message}` }];
  });
  fail(file, located);
}
