/**
 * LoCoMo, a public long-conversation memory benchmark (Maharana et al., "Evaluating Very Long-Term
 * Conversational Memory of LLM Agents", ACL 2024). Its repository carries no licence file, so the
 * data is not shipped here: a user who has it passes a subset file with `--locomo FILE` (or
 * `AGENTRY_LOCOMO_FILE`), shaped as `RawConversation` below: `{"conversations": [{"id", "sessions":
 * [{"date", "turns": [[turn id, speaker, text], …]}], "qa": [[question, category, [evidence turn
 * ids]], …]}]}`. Without it the evaluation runs on the notes set alone and says so.
 */
import { existsSync, readFileSync } from 'node:fs';

interface RawConversation {
  id: string;
  sessions: { date: string; turns: [id: string, speaker: string, text: string][] }[];
  qa: [question: string, category: number, evidence: string[]][];
}

export interface Turn {
  /** `D<session>:<turn>`, as LoCoMo names it. */
  id: string;
  speaker: string;
  text: string;
  /** The session's date and time as LoCoMo gives it ("1:56 pm on 8 May, 2023"). */
  date: string;
}

export interface LabelledQuestion {
  query: string;
  category: string;
  /** Turn ids that hold the answer. */
  evidence: string[];
}

export interface Conversation {
  id: string;
  turns: Turn[];
  questions: LabelledQuestion[];
}

/** LoCoMo's category numbers, named as in the released data (the paper's order differs). */
const categories: Record<number, string> = {
  1: 'multi-hop',
  2: 'temporal',
  3: 'open-domain',
  4: 'single-hop',
  5: 'adversarial',
};

/** The conversations of a LoCoMo subset file (none without one), `only` (ids) when given. */
export function locomoConversations(file: string | undefined, only?: readonly string[]): Conversation[] {
  if (!file || !existsSync(file)) return [];
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { conversations: RawConversation[] };
  return raw.conversations
    .filter((c) => !only || only.includes(c.id))
    .map((c) => ({
      id: c.id,
      turns: c.sessions.flatMap((s) =>
        s.turns.map(([id, speaker, text]) => ({ id, speaker, text, date: s.date })),
      ),
      questions: c.qa.map(([query, category, evidence]) => ({
        query,
        category: categories[category] ?? String(category),
        // A few labels name two turns in one string ("D8:6; D9:17").
        evidence: evidence.flatMap((e) => e.split(/[;,\s]+/)).filter(Boolean),
      })),
    }));
}
