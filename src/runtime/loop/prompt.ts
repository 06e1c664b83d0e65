import type { ChatMessage } from '../../models/types.ts';
import { promptJsonLimits, renderJson } from '../../text/render-json.ts';

/**
 * The system prompt of a run: the agent's prompt with `{{name}}` replaced by the request's context
 * values (only names the context has; other braces stay as written), and the context entries the
 * prompt does not use appended as a short JSON block, so the model sees every variable it was sent.
 */
export function renderSystemPrompt(template: string, context: Record<string, unknown>): string {
  const used = new Set<string>();
  const text = template.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (whole, key: string) => {
    if (!Object.hasOwn(context, key)) return whole;
    used.add(key);
    const value = context[key];
    return typeof value === 'string' ? value : JSON.stringify(value).slice(0, promptJsonLimits.maxChars);
  });
  const rest = Object.fromEntries(Object.entries(context).filter(([k]) => !used.has(k)));
  if (Object.keys(rest).length === 0) return text;
  return `${text}${text ? '\n\n' : ''}Context:\n${renderJson(rest)}`;
}

/**
 * Makes a stored history valid for any provider: every assistant tool call must be followed by its
 * result. A run that was cancelled or failed while it waited for approval leaves calls that never
 * ran; they get a result saying so (in memory only). `open` names calls still waiting (a run being
 * resumed), which are left as they are.
 */
export function repairHistory(messages: ChatMessage[], open: ReadonlySet<string> = new Set()): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    out.push(m);
    if (m.role !== 'assistant' || !m.tool_calls?.length) continue;
    const answered = new Set<string>();
    while (messages[i + 1]?.role === 'tool') {
      const t = messages[++i]!;
      answered.add(t.tool_call_id ?? '');
      out.push(t);
    }
    for (const c of m.tool_calls) {
      if (answered.has(c.id) || open.has(c.id)) continue;
      out.push({
        role: 'tool',
        tool_call_id: c.id,
        content: 'Error: this tool call was not run (its run ended first)',
      });
    }
  }
  return out;
}
