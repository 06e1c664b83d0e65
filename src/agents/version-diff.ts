import { createTwoFilesPatch, diffLines } from 'diff';
import { type AgentVersion, configFields, type FieldChange, type VersionDiff } from './version-schema.ts';

/** Fields compared as text: a change shows as a unified diff of the two texts. */
const textFields = new Set<string>(['system_prompt', 'description']);

/** The same value (stored configs come from jsonb, so equal objects serialise alike). */
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * Two versions field by field: only the fields that differ, in the config's order; a text field
 * also as a unified diff (the `diff` package, Myers' algorithm) with its lines added and removed.
 */
export function diffVersions(agentId: string, a: AgentVersion, b: AgentVersion): VersionDiff {
  const from = a.config as Record<string, unknown>;
  const to = b.config as Record<string, unknown>;
  // Fields a config holds beyond today's list (none yet) are compared too, after the known ones.
  const fields = [...new Set([...configFields, ...Object.keys(from), ...Object.keys(to)])];
  const changes: FieldChange[] = [];
  for (const field of fields) {
    if (same(from[field], to[field])) continue;
    const change: FieldChange = { field, from: from[field] ?? null, to: to[field] ?? null };
    const x = from[field];
    const y = to[field];
    if (textFields.has(field) && typeof x === 'string' && typeof y === 'string') {
      change.patch = createTwoFilesPatch(
        `${field}@${a.version}`,
        `${field}@${b.version}`,
        withEol(x),
        withEol(y),
        undefined,
        undefined,
        { context: 3 },
      );
      change.lines = countLines(x, y);
    }
    changes.push(change);
  }
  return { agent_id: agentId, from: a.version, to: b.version, changes };
}

/** A last line without a newline would show as `\ No newline at end of file`: noise for a prompt. */
const withEol = (s: string) => (s === '' || s.endsWith('\n') ? s : `${s}\n`);

function countLines(x: string, y: string): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const part of diffLines(withEol(x), withEol(y))) {
    if (part.added) added += part.count ?? 0;
    else if (part.removed) removed += part.count ?? 0;
  }
  return { added, removed };
}
