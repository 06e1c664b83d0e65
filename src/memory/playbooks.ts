import { createHash } from 'node:crypto';
import { AppError } from '../errors.ts';
import { systemActor } from '../events/journal.ts';
import type { EmbedContext } from './embeddings.ts';
import type { Memory } from './memory.ts';

/**
 * Playbooks: what an agent did to reach a goal (its tool calls in order, with their arguments, and
 * the outcome), kept as Markdown documents in a `playbooks` knowledge base, so that later requests
 * like it retrieve them like any other knowledge. A playbook's source is a hash of the goal
 * (normalised) and the call sequence: the same goal reached the same way is one document, however
 * often it happens.
 */

export interface PlaybookCall {
  name: string;
  arguments: unknown;
  error?: string;
}

export interface PlaybookInput {
  tenantId: string;
  kbId: string;
  agentId: string;
  goal: string;
  calls: PlaybookCall[];
  outcome: string;
  embed: EmbedContext;
}

export type PlaybookOutcome = { status: 'created' | 'unchanged'; source: string; documentId?: string };

const normalise = (text: string) => text.toLowerCase().replace(/\s+/g, ' ').trim();

/** The document's source: identifies a goal and the sequence that reached it. */
function playbookSource(goal: string, calls: readonly PlaybookCall[]): string {
  const hash = createHash('sha256')
    .update(normalise(goal))
    .update('\0')
    .update(JSON.stringify(calls.map((c) => [c.name, c.arguments])))
    .digest('hex');
  return `playbooks/${hash.slice(0, 32)}.md`;
}

const oneLine = (text: string, max: number) => {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
};

/** The playbook as Markdown: goal, steps, outcome (each under its heading, so chunks say what they are). */
function playbookMarkdown(goal: string, calls: readonly PlaybookCall[], outcome: string): string {
  const steps = calls.map((c, n) => {
    const args = typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments);
    return `${n + 1}. \`${c.name}\` with ${args}${c.error ? ` (failed: ${oneLine(c.error, 200)})` : ''}`;
  });
  return [
    `# Playbook: ${oneLine(goal, 80)}`,
    '',
    '## Goal',
    '',
    goal.trim(),
    '',
    '## Steps',
    '',
    ...steps,
    '',
    '## Outcome',
    '',
    outcome.trim() || '(no final text)',
    '',
  ].join('\n');
}

/**
 * Stores one playbook unless the knowledge base already has this goal and sequence. The first
 * outcome stands: a later run of the same sequence (whose answer may differ in wording) adds nothing.
 */
export async function recordPlaybook(memory: Memory, p: PlaybookInput): Promise<PlaybookOutcome> {
  const source = playbookSource(p.goal, p.calls);
  const existing = await memory.knowledgeBases.findDocument(p.tenantId, p.kbId, source);
  if (existing) return { status: 'unchanged', source, documentId: existing };
  try {
    const res = await memory.ingest(
      p.tenantId,
      p.kbId,
      {
        source,
        bytes: new TextEncoder().encode(playbookMarkdown(p.goal, p.calls, p.outcome)),
        format: 'markdown',
        title: `Playbook: ${oneLine(p.goal, 80)}`,
        metadata: { playbook: true, agent_id: p.agentId, tools: p.calls.map((c) => c.name) },
      },
      p.embed,
      systemActor(p.tenantId),
    );
    return {
      status: res.status === 'created' ? 'created' : 'unchanged',
      source,
      documentId: res.document.id,
    };
  } catch (err) {
    // The same playbook written by a concurrent run: it exists, which is all that was wanted.
    if (err instanceof AppError && err.code === 'conflict') return { status: 'unchanged', source };
    throw err;
  }
}
