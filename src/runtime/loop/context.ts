import type { Agent } from '../../agents/schema.ts';
import type { Db } from '../../db/db.ts';
import type { EmbedContext } from '../../memory/embeddings.ts';
import type { Memory } from '../../memory/memory.ts';
import { type PlaybookOutcome, recordPlaybook } from '../../memory/playbooks.ts';
import {
  type BoundKb,
  knowledgeBaseText,
  type RetrievedChunk,
  resolveBindings,
  retrieveChunks,
} from '../../memory/retrieval.ts';
import { estimateTokens } from '../../models/tokens.ts';
import type { ChatMessage } from '../../models/types.ts';
import type { Logger } from '../../observability/logger.ts';
import type { SpanParent } from '../../observability/spans.ts';
import type { ToolCallRecord } from '../schema.ts';
import { inRetrievalSpan } from '../trace/retrieval-span.ts';
import { renderSystemPrompt } from './prompt.ts';

/**
 * The context of a model call, assembled from memory: the agent's persona knowledge (always, in
 * the system message), its own system prompt, the chunks retrieved from its other bound knowledge
 * bases for the current user message (cited by document), and the session's recent messages within
 * a token budget (older ones dropped behind an explicit marker). What was assembled is returned as
 * a record that the run's model steps carry, so GET /v1/runs/:id shows it.
 */

export interface ContextSettings {
  /** Tokens of session history sent with each model call (the current turn is always sent whole). */
  historyTokens: number;
  /** Chunks retrieved from the agent's non-persona knowledge bases per turn. */
  retrievalTopK: number;
  /** Most persona text put in the system message; beyond it the text is cut with a marker. */
  personaTokens: number;
}

export const defaultContextSettings: ContextSettings = {
  historyTokens: 16_000,
  retrievalTopK: 5,
  personaTokens: 4_000,
};

export const omittedMarker = (n: number) =>
  `[...${n} earlier message${n === 1 ? '' : 's'} omitted to fit the context budget...]`;
export const PERSONA_CUT_MARKER = '[...persona truncated to fit the context budget...]';

/** What the model steps of a run record about their context. */
export interface ContextRecord {
  history: { total: number; kept: number; dropped: number; tokens: number; budget: number; marker?: string };
  persona?: {
    knowledge_base: { id: string; name: string };
    documents: { id: string; title: string }[];
    tokens: number;
    truncated?: boolean;
  }[];
  retrieval?: {
    /** When the retrieval started and how long it took (the run's trace shows it as a span). */
    started_at?: string;
    duration_ms?: number;
    query: string;
    mode: 'hybrid' | 'text';
    knowledge_bases: { id: string; name: string; kind: string }[];
    chunks: (Omit<RetrievedChunk, 'content' | 'knowledge_base'> & {
      knowledge_base: string;
      tokens: number;
    })[];
  };
  warnings?: string[];
}

export interface Assembled {
  /** System message first (when there is one), then the fitted history. */
  messages: ChatMessage[];
  record: ContextRecord;
  /** The agent's knowledge bases that exist (for playbooks after the run). */
  bound: BoundKb[];
}

export interface AssembleInput {
  tenantId: string;
  agent: Agent;
  /** The session's conversation, the current user message included. */
  history: ChatMessage[];
  variables: Record<string, unknown>;
  embed: EmbedContext;
  /** False: the history is used as given (a swarm fits it to its own budget). */
  fitHistory?: boolean;
  /** Where the retrieval span hangs (the run's or the member's span). */
  trace?: SpanParent;
}

interface PersonaEntry {
  revision: number;
  text: string;
  documents: { id: string; title: string }[];
}

const PERSONA_CACHE_MAX = 1000;

/** Memory as the agent loop uses it: context assembly before the model calls, playbooks after a run. */
export class LoopMemory {
  /** Persona texts by knowledge base, valid while its revision is unchanged. */
  private readonly personas = new Map<string, PersonaEntry>();

  constructor(
    private readonly deps: {
      db: Db;
      /** Read at run time: app.ts opens the memory module after the runtime. */
      memory: () => Memory | undefined;
      settings: ContextSettings;
      log: Logger;
    },
  ) {}

  /** No memory module: the history budget applies, knowledge is never looked up (so no store is needed). */
  static historyOnly(settings: ContextSettings, log: Logger): LoopMemory {
    return new LoopMemory({ db: undefined as unknown as Db, memory: () => undefined, settings, log });
  }

  async assemble(i: AssembleInput): Promise<Assembled> {
    const fitted =
      i.fitHistory === false ? unfitted(i.history) : fitHistory(i.history, this.deps.settings.historyTokens);
    const record: ContextRecord = { history: fitted.record };
    const prompt = renderSystemPrompt(i.agent.system_prompt, i.variables);
    const memory = this.deps.memory();
    // An agent without knowledge pays nothing more: no query at all.
    if (i.agent.knowledge.length === 0 || !memory) {
      return { messages: withSystem(prompt, fitted.messages), record, bound: [] };
    }
    const warnings: string[] = [];
    const { bound, missing } = await resolveBindings(this.deps.db, i.tenantId, i.agent.knowledge);
    for (const ref of missing)
      warnings.push(`knowledge base ${ref} is bound to the agent but does not exist`);
    const personaKbs = bound.filter((k) => k.kind === 'persona');
    const others = bound.filter((k) => k.kind !== 'persona');
    const query = lastUserText(i.history);
    const retrievalStart = new Date();
    const t0 = performance.now();
    let retrievalMs = 0;
    const [personas, retrieved] = await Promise.all([
      Promise.all(personaKbs.map((kb) => this.persona(i.tenantId, kb))),
      others.length > 0 && query
        ? inRetrievalSpan(
            { agentName: i.agent.name, knowledgeBases: others, topK: this.deps.settings.retrievalTopK },
            i.trace,
            () =>
              retrieveChunks(
                {
                  db: this.deps.db,
                  vectors: memory.vectors,
                  embedder: memory.embedder,
                  fusion: memory.fusion,
                },
                i.tenantId,
                others,
                query,
                this.deps.settings.retrievalTopK,
                i.embed,
              ).finally(() => {
                retrievalMs = Math.round((performance.now() - t0) * 100) / 100;
              }),
          )
        : undefined,
    ]);
    if (retrieved?.warning) warnings.push(retrieved.warning);

    const parts: string[] = [];
    let personaBudget = this.deps.settings.personaTokens * 4; // in characters, as estimateTokens counts
    record.persona = personaKbs.map((kb, n) => {
      const p = personas[n]!;
      let text = p.text;
      const truncated = text.length > personaBudget;
      if (truncated) text = `${text.slice(0, Math.max(0, personaBudget))}\n${PERSONA_CUT_MARKER}`;
      personaBudget = Math.max(0, personaBudget - text.length);
      if (text.trim()) parts.push(text);
      return {
        knowledge_base: { id: kb.id, name: kb.name },
        documents: p.documents,
        tokens: estimateTokens(text),
        ...(truncated && { truncated }),
      };
    });
    if (prompt) parts.push(prompt);
    if (retrieved && retrieved.chunks.length > 0) parts.push(knowledgeBlock(retrieved.chunks));
    if (retrieved) {
      record.retrieval = {
        started_at: retrievalStart.toISOString(),
        duration_ms: retrievalMs,
        query: query.slice(0, 500),
        mode: retrieved.mode,
        knowledge_bases: others.map((k) => ({ id: k.id, name: k.name, kind: k.kind })),
        chunks: retrieved.chunks.map(({ content, knowledge_base, ...c }) => ({
          ...c,
          knowledge_base: knowledge_base.name,
          tokens: estimateTokens(content),
        })),
      };
    }
    if (warnings.length > 0) {
      record.warnings = warnings;
      this.deps.log.warn({ agent_id: i.agent.id, warnings }, 'agent knowledge: some bindings were ignored');
    }
    return { messages: withSystem(parts.join('\n\n'), fitted.messages), record, bound };
  }

  /**
   * After a successful run that used tools: its sequence as a playbook in the agent's first
   * `playbooks` knowledge base, unless the agent's metadata says `playbooks: false`. Never throws:
   * a playbook that cannot be written is logged, the run stays successful.
   */
  async learn(i: {
    tenantId: string;
    agent: Agent;
    bound: BoundKb[];
    goal: string;
    toolCalls: ToolCallRecord[];
    outcome: string;
    embed: EmbedContext;
  }): Promise<PlaybookOutcome | undefined> {
    const memory = this.deps.memory();
    const kb = i.bound.find((k) => k.kind === 'playbooks');
    if (!memory || !kb || i.toolCalls.length === 0 || i.agent.metadata.playbooks === false) return undefined;
    try {
      return await recordPlaybook(memory, {
        tenantId: i.tenantId,
        kbId: kb.id,
        agentId: i.agent.id,
        goal: i.goal,
        calls: i.toolCalls,
        outcome: i.outcome,
        embed: i.embed,
      });
    } catch (err) {
      this.deps.log.warn({ err, agent_id: i.agent.id }, 'could not record a playbook');
      return undefined;
    }
  }

  private async persona(tenantId: string, kb: BoundKb): Promise<PersonaEntry> {
    const cached = this.personas.get(kb.id);
    if (cached && cached.revision === kb.revision) return cached;
    const { text, documents } = await knowledgeBaseText(this.deps.db, tenantId, kb.id);
    const entry = { revision: kb.revision, text, documents };
    this.personas.delete(kb.id);
    if (this.personas.size >= PERSONA_CACHE_MAX) this.personas.delete(this.personas.keys().next().value!);
    this.personas.set(kb.id, entry);
    return entry;
  }
}

function withSystem(system: string, history: ChatMessage[]): ChatMessage[] {
  return system ? [{ role: 'system', content: system }, ...history] : history;
}

export function lastUserText(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role === 'user') return messages[i]!.content ?? '';
  }
  return '';
}

/** The retrieved chunks as the model reads them: numbered, each with its document and heading path. */
function knowledgeBlock(chunks: readonly RetrievedChunk[]): string {
  const lines = ['Relevant knowledge (retrieved for the current message; cite the document you use):'];
  chunks.forEach((c, n) => {
    const where = c.heading_path.length > 0 ? ` > ${c.heading_path.join(' > ')}` : '';
    lines.push(
      '',
      `[${n + 1}] ${c.document.title || c.document.source}${where} (document ${c.document.id}, knowledge base ${c.knowledge_base.name})`,
      c.content,
    );
  });
  return lines.join('\n');
}

const messageTokens = (m: ChatMessage) =>
  4 + estimateTokens(m.content ?? '') + (m.tool_calls ? estimateTokens(JSON.stringify(m.tool_calls)) : 0);

function unfitted(history: ChatMessage[]) {
  const tokens = history.reduce((n, m) => n + messageTokens(m), 0);
  return {
    messages: history,
    record: { total: history.length, kept: history.length, dropped: 0, tokens, budget: 0 },
  };
}

/**
 * The most recent messages within `budget` tokens. The current turn (from the last user message
 * on) is always kept whole; older messages go in units, so an assistant's tool calls are never
 * separated from their results. When anything is dropped, a user message saying how many comes
 * first, so neither the model nor a reader of the run mistakes the start for the beginning.
 */
export function fitHistory(
  history: readonly ChatMessage[],
  budget: number,
): { messages: ChatMessage[]; record: ContextRecord['history'] } {
  let cut = history.length;
  for (let i = history.length - 1; i >= 0; i--) {
    if (history[i]!.role === 'user') {
      cut = i;
      break;
    }
  }
  if (cut === history.length) cut = 0; // no user message: nothing marks a turn, keep all
  let used = 0;
  for (let i = cut; i < history.length; i++) used += messageTokens(history[i]!);
  while (cut > 0) {
    // One unit: a message, or an assistant's tool calls with the results that follow them.
    let start = cut - 1;
    while (start > 0 && history[start]!.role === 'tool') start--;
    let cost = 0;
    for (let i = start; i < cut; i++) cost += messageTokens(history[i]!);
    if (used + cost > budget) break;
    used += cost;
    cut = start;
  }
  const kept = history.slice(cut);
  const record = { total: history.length, kept: kept.length, dropped: cut, tokens: used, budget };
  if (cut === 0) return { messages: kept, record };
  const marker = omittedMarker(cut);
  return { messages: [{ role: 'user', content: marker }, ...kept], record: { ...record, marker } };
}
