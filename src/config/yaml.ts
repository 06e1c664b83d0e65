import { isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { AppError } from '../errors.ts';

/**
 * Parses YAML and validates it; every error names the file, the line and column, and the field,
 * because a config mistake is found by the person reading the message, not by a debugger.
 */
export function parseYamlWithSchema<S extends z.ZodType>(text: string, file: string, schema: S): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const messages = doc.errors.map((e) => {
      const at = lineCounter.linePos(e.pos[0]);
      return `${file}:${at.line}:${at.col}: ${e.message.split('\n')[0]}`;
    });
    throw new AppError('config_error', messages.join('\n'));
  }
  const value = doc.toJS() ?? {};
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;

  const messages = parsed.error.issues.map((issue) => {
    // Walk up the path until a node exists (a missing key has no node; its parent does).
    let keys = issue.path as Array<string | number>;
    let node: unknown = keys.length === 0 ? doc.contents : doc.getIn(keys, true);
    while (!isNode(node) && keys.length > 0) {
      keys = keys.slice(0, -1);
      node = keys.length === 0 ? doc.contents : doc.getIn(keys, true);
    }
    const offset = isNode(node) && node.range ? node.range[0] : 0;
    const at = lineCounter.linePos(offset);
    const field = issue.path.join('.') || '(root)';
    return `${file}:${at.line}:${at.col}: ${field}: ${issue.message}`;
  });
  throw new AppError('config_error', messages.join('\n'));
}
