import type { ChatMessage, ToolCall } from '../../models/types.ts';
import type { Resume } from '../types.ts';
import type { RunStore } from './store.ts';

/**
 * Where a taken-over run stands (docs/durability.md). Its conversation is recorded up to the last
 * step: a model answer that asked for tools is written before they run, and a round's results are
 * written together once all have finished (those that finished while others ran, on their own as
 * steps). So the conversation either ends with answered calls (the loop carries on with the model)
 * or with an answer whose calls have no results yet: those recorded on their own are reused; the
 * others were in flight when the process died, and run again only if their tool is idempotent (or
 * a person said so, resuming an interrupted run).
 */
export interface Recovered {
  /** Carry on with these calls (results reused where recorded). */
  resume?: Resume;
  /** In flight at the death and not idempotent: the run stops as `interrupted`. */
  interrupted?: ToolCall[];
}

/** The calls of the conversation's last assistant message that have no result after it. */
export function openCalls(history: readonly ChatMessage[]): ToolCall[] {
  let i = history.length - 1;
  const answered = new Set<string>();
  while (i >= 0 && history[i]!.role === 'tool') answered.add(history[i--]!.tool_call_id ?? '');
  const last = history[i];
  if (last?.role !== 'assistant' || !last.tool_calls?.length) return [];
  return last.tool_calls.filter((c) => !answered.has(c.id));
}

export async function recoverRound(
  store: Pick<RunStore, 'recordedResults'>,
  runId: string,
  history: readonly ChatMessage[],
  options: { idempotent(tool: string): boolean; rerun: boolean },
): Promise<Recovered> {
  const open = openCalls(history);
  if (open.length === 0) return {};
  const recorded = await store.recordedResults(
    runId,
    open.map((c) => c.id),
  );
  const inFlight = open.filter((c) => !recorded.has(c.id));
  const refused = options.rerun ? [] : inFlight.filter((c) => !options.idempotent(c.function.name));
  if (refused.length > 0) return { interrupted: refused };
  return { resume: { toolCalls: open, approved: true, recorded, takeover: true } };
}

/** The run's `error.message` when it stops as `interrupted`. */
export function interruptedMessage(calls: readonly ToolCall[]): string {
  const names = [...new Set(calls.map((c) => c.function.name))].join(', ');
  return `interrupted during tool ${names}; not idempotent`;
}
