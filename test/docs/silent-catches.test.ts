/**
 * No failure in src/ is swallowed without a word: a catch that does nothing with what it caught
 * (an empty block, `return undefined`, `.catch(() => {})`, `.catch(() => undefined)`) either logs
 * it or carries a comment saying why nothing is lost. A catch that handles the failure (rethrows,
 * answers with a fallback, records it) passes as it is.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Catch {
  file: string;
  line: number;
  text: string;
}

/** A statement that does nothing with the failure: `return`, `return undefined`, `return null`. */
function saysNothing(s: ts.Statement): boolean {
  if (!ts.isReturnStatement(s)) return false;
  const e = s.expression;
  return !e || e.kind === ts.SyntaxKind.NullKeyword || (ts.isIdentifier(e) && e.text === 'undefined');
}

/** A `.catch` handler that does nothing: `() => {}`, `() => undefined`, `() => null`, `function () {}`. */
function ignores(handler: ts.Expression | undefined): boolean {
  if (!handler || !(ts.isArrowFunction(handler) || ts.isFunctionExpression(handler))) return false;
  const body = handler.body;
  if (ts.isBlock(body)) return body.statements.every(saysNothing);
  return body.kind === ts.SyntaxKind.NullKeyword || (ts.isIdentifier(body) && body.text === 'undefined');
}

/** Where a file's comments are: the ranges, and the lines a comment starts or fills (code ahead of it on its first line aside). */
function commentsOf(sf: ts.SourceFile): { ranges: ts.CommentRange[]; ownLines: Set<number> } {
  const text = sf.getFullText();
  const seen = new Map<number, ts.CommentRange>();
  const visit = (node: ts.Node): void => {
    for (const r of ts.getLeadingCommentRanges(text, node.getFullStart()) ?? []) seen.set(r.pos, r);
    for (const r of ts.getTrailingCommentRanges(text, node.end) ?? []) seen.set(r.pos, r);
    for (const child of node.getChildren(sf)) visit(child);
  };
  visit(sf);
  const ranges = [...seen.values()];
  const ownLines = new Set<number>();
  for (const r of ranges) {
    const first = sf.getLineAndCharacterOfPosition(r.pos);
    const last = sf.getLineAndCharacterOfPosition(r.end).line;
    const ahead = text.slice(r.pos - first.character, r.pos);
    for (let line = ahead.trim() ? first.line + 1 : first.line; line <= last; line++) ownLines.add(line);
  }
  return { ranges, ownLines };
}

/**
 * A reason for a catch: a comment inside it or on its line, or on the line right above it (for a
 * `.catch`, also right above the statement it is part of).
 */
function hasReason(
  sf: ts.SourceFile,
  comments: ReturnType<typeof commentsOf>,
  node: ts.Node,
  at: number,
): boolean {
  const line = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line;
  const inside = comments.ranges.some(
    (r) => (r.pos >= node.getStart(sf) && r.pos < node.end) || line(r.pos) === at,
  );
  if (inside || comments.ownLines.has(at - 1)) return true;
  if (ts.isCatchClause(node)) return false;
  let statement: ts.Node = node;
  while (statement.parent && !ts.isBlock(statement.parent) && !ts.isSourceFile(statement.parent)) {
    statement = statement.parent;
  }
  return comments.ownLines.has(line(statement.getStart(sf)) - 1);
}

/** The catches in `file` that neither do something with the failure nor say why they need not. */
function silentCatches(file: string, text = readFileSync(root + file, 'utf8')): Catch[] {
  const lines = text.split('\n');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const comments = commentsOf(sf);
  const found: Catch[] = [];
  const report = (node: ts.Node, at: number) => {
    if (!hasReason(sf, comments, node, at)) found.push({ file, line: at + 1, text: lines[at]!.trim() });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isCatchClause(node) && node.block.statements.every(saysNothing)) {
      report(node, sf.getLineAndCharacterOfPosition(node.getStart(sf)).line);
    } else if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      node.expression.name.text === 'catch' &&
      ignores(node.arguments[0])
    ) {
      report(node.arguments[0]!, sf.getLineAndCharacterOfPosition(node.expression.name.getStart(sf)).line);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

const sources = readdirSync(`${root}src`, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && /\.(ts|tsx|mts|mjs|js)$/.test(e.name))
  .map((e) => `${e.parentPath.slice(root.length)}/${e.name}`)
  .sort();

describe('silent catches', () => {
  it('finds catches that do nothing, and passes those that act or say why', () => {
    const sample = [
      'try { a(); } catch {}',
      'try { a(); } catch (e) { return undefined; }',
      'void p.catch(() => {});',
      'const v = await p.catch(() => undefined);',
      'try { a(); } catch {',
      '  // Gone already.',
      '}',
      '// A lost wake-up only delays the next poll.',
      'void p.catch(() => {});',
      'try { a(); } catch { return; } // nothing to refresh',
      'try { a(); } catch (err) { log.debug({ err }, "gone"); }',
      'void p.catch((err) => log.warn({ err }, "failed"));',
      'try { a(); } catch { return {}; }',
    ].join('\n');
    assert.deepEqual(
      silentCatches('sample.ts', sample).map((c) => c.line),
      [1, 2, 3, 4],
    );
  });

  it('every swallowed failure in src/ logs what it swallowed or says why nothing is lost', (t) => {
    const silent = sources.flatMap((file) => silentCatches(file));
    t.diagnostic(`silent catches in src/: ${silent.length}`);
    assert.deepEqual(
      silent.map((c) => `${c.file}:${c.line}: ${c.text}`),
      [],
    );
  });
});
