import type { Agent } from '../../agents/schema.ts';
import { AppError } from '../../errors.ts';
import { estimateTokens } from '../../models/tokens.ts';
import type { ChatMessage, ToolSpec } from '../../models/types.ts';
import type { ToolOutcome } from '../../tools/types.ts';
import { callParent } from '../loop/execute.ts';
import { repairHistory } from '../loop/prompt.ts';
import { recoverRound } from '../runs/recovery.ts';
import { interrupt } from '../runs/step.ts';
import { startHandoffSpan } from '../trace/handoff-span.ts';
import type { Resume, RunResult } from '../types.ts';
import type { Team } from './multi-agent.ts';

/**
 * A swarm: one conversation, one agent speaking at a time. Each member is offered a
 * `transfer_to_<agent>` tool for every name in its `handoffs`; calling it ends the member's turn
 * after that tool round and the target carries on with the conversation so far (cut to the
 * context budget, with a visible marker). Streams get a `handoff` event, and every event of a
 * member's loop carries `agent`. More than `config.max_handoffs` handoffs end the run. A process
 * that takes the run over (docs/durability.md) finds who speaks from the recorded handoffs and
 * carries on that member's turn from its last recorded step.
 */

export const DEFAULT_MAX_HANDOFFS = 8;
export const DEFAULT_CONTEXT_BUDGET = 16_000;
export const TRUNCATION_MARKER = '[...context truncated...]';

class Handoff {
  constructor(readonly to: Agent) {}
}

export async function runSwarm(team: Team): Promise<RunResult> {
  const { run, deps, spec, out } = team;
  const maxHandoffs = positiveInt(spec.config.max_handoffs, DEFAULT_MAX_HANDOFFS);
  const budget = positiveInt(spec.config.context_budget_tokens, DEFAULT_CONTEXT_BUDGET);
  const byName = new Map([...team.members.values()].map((a) => [a.name, a]));
  const stored = run.history ?? (await deps.store.history(run.sessionId));
  let current = team.entry;
  const path = [current.name];
  let handoff: ReturnType<typeof startHandoffSpan> | undefined;
  let resume: Resume | undefined;
  if (run.takeover) {
    for (const to of handoffsMade(stored, byName)) {
      current = to;
      path.push(to.name);
    }
    const recovered = await recoverRound(deps.store, run.runId, stored, {
      idempotent: (tool) =>
        tool.startsWith('transfer_to_') ||
        (deps.tools.get(tool)?.idempotent === true && deps.tools.get(tool)?.requires_approval !== true),
      rerun: run.takeover.rerun,
    });
    if (recovered.interrupted) return interrupt(deps, run, recovered.interrupted, run.usage);
    resume = recovered.resume;
  }
  let conversation: ChatMessage[] = repairHistory(stored, new Set(resume?.toolCalls.map((c) => c.id)));
  for (;;) {
    let target: Agent | undefined;
    const { specs, handlers } = transferTools(current, byName, (to) => {
      if (target) return `already transferring to ${target.name}; one handoff per turn`;
      target = to;
      return undefined;
    });
    try {
      const fitted = fitContext(conversation, budget);
      const outcome = await team.loop(current, fitted.messages, {
        keepMessages: true,
        extraTools: specs,
        localTools: handlers,
        onRound: (messages) => {
          conversation = [...conversation, ...messages.map(({ tokens: _, ...m }) => m)];
        },
        afterCommit: () => {
          if (target) throw new Handoff(target);
        },
        trace: handoff?.parent,
        resume,
      });
      handoff?.end();
      handoff = undefined;
      return await out.complete({
        text: outcome.text,
        model: outcome.model,
        finishReason: outcome.finishReason,
        toolCalls: outcome.toolCalls,
        extra: { agent: current.name, handoffs: path.length - 1 },
      });
    } catch (err) {
      handoff?.end(err instanceof Handoff ? undefined : err);
      handoff = undefined;
      if (!(err instanceof Handoff)) throw err;
      path.push(err.to.name);
      if (path.length - 1 > maxHandoffs) {
        throw new AppError(
          'unprocessable',
          `the swarm exceeded max_handoffs (${maxHandoffs}): ${path.join(' -> ')}`,
          { details: { run_code: 'max_handoffs', path } },
        );
      }
      const next = fitContext(conversation, budget);
      run.writer.emit('handoff', {
        from: current.name,
        to: err.to.name,
        from_id: current.id,
        to_id: err.to.id,
        handoffs: path.length - 1,
        ...(next.dropped > 0 && { truncated: true, dropped_messages: next.dropped }),
      });
      handoff = startHandoffSpan(
        { from: current, to: err.to, number: path.length - 1, truncated: next.dropped > 0 },
        callParent(run.call),
      );
      current = err.to;
    } finally {
      resume = undefined;
    }
  }
}

/** The handoffs this run made, in order, as its recorded conversation shows them (since its input). */
function handoffsMade(history: readonly ChatMessage[], byName: ReadonlyMap<string, Agent>): Agent[] {
  const byTool = new Map([...byName.values()].map((a) => [transferToolName(a.name), a]));
  const start = history.findLastIndex((m) => m.role === 'user');
  const results = new Map<string, string>();
  for (const m of history.slice(start + 1))
    if (m.role === 'tool') results.set(m.tool_call_id ?? '', m.content ?? '');
  const out: Agent[] = [];
  for (const m of history.slice(start + 1)) {
    for (const c of m.role === 'assistant' ? (m.tool_calls ?? []) : []) {
      const to = byTool.get(c.function.name);
      if (to && results.get(c.id) === `transferred to ${to.name}`) out.push(to);
    }
  }
  return out;
}

/** The `transfer_to_<agent>` tools of one member; `take` records the target or says why not. */
function transferTools(
  agent: Agent,
  byName: Map<string, Agent>,
  take: (to: Agent) => string | undefined,
): { specs: ToolSpec[]; handlers: Record<string, (raw: string) => Promise<ToolOutcome>> } {
  const specs: ToolSpec[] = [];
  const handlers: Record<string, (raw: string) => Promise<ToolOutcome>> = {};
  for (const name of new Set(agent.handoffs)) {
    if (name === agent.name) continue;
    const tool = transferToolName(name);
    specs.push({
      type: 'function',
      function: {
        name: tool,
        description: `Hand the conversation over to ${name}${describe(byName.get(name))}.`,
        parameters: {
          type: 'object',
          properties: { reason: { type: 'string', description: 'Why the handoff' } },
        },
      },
    });
    handlers[tool] = async () => {
      const to = byName.get(name);
      if (!to) {
        return {
          ok: false,
          error: `unknown handoff target ${name}: not a member of this swarm (members: ${[...byName.keys()].join(', ')})`,
        };
      }
      const refused = take(to);
      return refused ? { ok: false, error: refused } : { ok: true, output: `transferred to ${name}` };
    };
  }
  return { specs, handlers };
}

/** Tool names allow letters, digits, `_` and `-`: agent names may also hold dots. */
export function transferToolName(agent: string): string {
  return `transfer_to_${agent.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64);
}

function describe(agent: Agent | undefined): string {
  return agent?.description ? ` (${agent.description.slice(0, 200)})` : '';
}

/**
 * The most recent messages that fit in `budget` tokens. A cut never separates tool results from
 * the call that asked for them; when anything is cut, a user message with the marker comes first,
 * so the model knows the start is missing.
 */
export function fitContext(
  messages: readonly ChatMessage[],
  budget: number,
): { messages: ChatMessage[]; dropped: number } {
  let used = 0;
  let cut = messages.length;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    used +=
      estimateTokens(m.content ?? '') + (m.tool_calls ? estimateTokens(JSON.stringify(m.tool_calls)) : 0);
    if (used > budget && cut < messages.length) break;
    cut = i;
  }
  while (cut < messages.length && messages[cut]!.role === 'tool') cut += 1;
  if (cut === 0) return { messages: [...messages], dropped: 0 };
  return {
    messages: [{ role: 'user', content: TRUNCATION_MARKER }, ...messages.slice(cut)],
    dropped: cut,
  };
}

function positiveInt(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : fallback;
}
