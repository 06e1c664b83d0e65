import type { RunEvent } from '../../lib/sse';
import type { Message } from '../../lib/types';

/** A tool call as the playground shows it: arguments, then its result (or error) and duration. */
export interface ToolCard {
  id: string;
  name: string;
  arguments: unknown;
  output?: unknown;
  error?: string;
  durationMs?: number;
  /** Waiting for the user's decision, or what they decided. */
  approval?: 'waiting' | 'approved' | 'denied';
}

export type Item =
  | { kind: 'user'; key: string; text: string }
  | { kind: 'assistant'; key: string; text: string; agent?: string }
  | { kind: 'tool'; key: string; card: ToolCard }
  | { kind: 'notice'; key: string; text: string; tone: 'info' | 'error' };

export interface Transcript {
  items: Item[];
  runId?: string;
  sessionId?: string;
  /** The tool calls the run waits on (approval). */
  pending: string[];
  running: boolean;
}

export const emptyTranscript: Transcript = { items: [], pending: [], running: false };

const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));

/**
 * Folds one run event into the transcript: text deltas join the answer being written, a tool call
 * opens a card that its result, approval and duration fill. Keys carry the run id, because every
 * run's event ids start again at 1.
 */
export function applyEvent(s: Transcript, e: RunEvent): Transcript {
  const d = e.data;
  const key = `${s.runId ?? 'run'}:${e.id}`;
  switch (e.type) {
    case 'session_start':
      return { ...s, runId: str(d.run_id), sessionId: str(d.session_id), running: true };
    case 'text': {
      const last = s.items.at(-1);
      const agent = typeof d.agent === 'string' ? d.agent : undefined;
      const delta = str(d.delta);
      if (last?.kind === 'assistant' && last.agent === agent) {
        return { ...s, items: [...s.items.slice(0, -1), { ...last, text: last.text + delta }] };
      }
      return { ...s, items: [...s.items, { kind: 'assistant', key, text: delta, agent }] };
    }
    case 'tool_call':
      return {
        ...s,
        items: [
          ...s.items,
          { kind: 'tool', key, card: { id: str(d.id), name: str(d.name), arguments: d.arguments } },
        ],
      };
    case 'tool_result':
      return updateCard(s, str(d.id), (c) => ({
        ...c,
        ...(d.error !== undefined ? { error: str(d.error) } : { output: d.output }),
        durationMs: typeof d.duration_ms === 'number' ? d.duration_ms : undefined,
      }));
    case 'approval_required': {
      const ids = ((d.tool_calls as Array<{ id: string }> | undefined) ?? []).map((c) => c.id);
      return ids.reduce<Transcript>((t, id) => updateCard(t, id, (c) => ({ ...c, approval: 'waiting' })), {
        ...s,
        pending: ids,
      });
    }
    case 'approval_granted':
    case 'approval_denied': {
      const decided = e.type === 'approval_granted' ? 'approved' : 'denied';
      const ids = (d.tool_calls as string[] | undefined) ?? s.pending;
      return ids.reduce<Transcript>((t, id) => updateCard(t, id, (c) => ({ ...c, approval: decided })), {
        ...s,
        pending: [],
      });
    }
    case 'handoff':
      return notice(s, key, `${str(d.from)} handed the conversation to ${str(d.to)}`, 'info');
    case 'node_start':
      return notice(s, key, `${str(d.agent)} started`, 'info');
    case 'node_end':
      return notice(
        s,
        key,
        `${str(d.agent)} ${str(d.status)}${d.error ? `: ${str(d.error)}` : ''}`,
        d.status === 'failed' ? 'error' : 'info',
      );
    case 'error':
      return notice(s, key, `${str(d.code) || 'error'}: ${str(d.message)}`, 'error');
    case 'session_end': {
      const status = str(d.status);
      const ended = { ...s, running: false, pending: [] };
      if (status === 'completed') return ended;
      return notice(ended, key, `The run ended: ${status}`, status === 'cancelled' ? 'info' : 'error');
    }
    default:
      return s;
  }
}

function updateCard(s: Transcript, id: string, f: (c: ToolCard) => ToolCard): Transcript {
  return {
    ...s,
    items: s.items.map((i) => (i.kind === 'tool' && i.card.id === id ? { ...i, card: f(i.card) } : i)),
  };
}

function notice(s: Transcript, key: string, text: string, tone: 'info' | 'error'): Transcript {
  return { ...s, items: [...s.items, { kind: 'notice', key, text, tone }] };
}

interface StoredCall {
  id: string;
  function?: { name: string; arguments: string };
  name?: string;
  arguments?: unknown;
}

const parse = (v: unknown) => {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
};

/** A stored session's messages as a transcript (a reopened session from the sidebar). */
export function transcriptOf(messages: Message[]): Item[] {
  const items: Item[] = [];
  for (const m of messages) {
    const key = `m${m.seq}`;
    if (m.role === 'user') items.push({ kind: 'user', key, text: m.content ?? '' });
    if (m.role === 'assistant') {
      if (m.content) items.push({ kind: 'assistant', key, text: m.content });
      for (const raw of (m.tool_calls ?? []) as StoredCall[]) {
        items.push({
          kind: 'tool',
          key: `${key}:${raw.id}`,
          card: {
            id: raw.id,
            name: raw.function?.name ?? raw.name ?? 'tool',
            arguments: parse(raw.function?.arguments ?? raw.arguments),
          },
        });
      }
    }
    if (m.role === 'tool') {
      const card = items.find((i) => i.kind === 'tool' && i.card.id === m.tool_call_id);
      if (card?.kind === 'tool') {
        const text = m.content ?? '';
        card.card = text.startsWith('Error: ')
          ? { ...card.card, error: text.slice(7) }
          : { ...card.card, output: text };
      }
    }
  }
  return items;
}
