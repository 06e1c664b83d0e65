import type { Db } from '../../db/db.ts';
import { newId } from '../../db/ids.ts';
import { AppError } from '../../errors.ts';
import { estimateTokens } from '../../models/tokens.ts';
import type { ChatMessage, ContentPart } from '../../models/types.ts';
import type { ForkInput } from '../schema.ts';
import { toMessage } from './begin.ts';
import type { PendingEvent, RunEvent } from './events.ts';
import { withSeqs } from './events.ts';
import type { RunOptions, RunRow, StepRow } from './rows.ts';

/**
 * Forks: a new run, in a new session, from a recorded step of an earlier run, with the
 * conversation as it stood before that step and the changes asked for. Step 0 (the first model
 * call) is a replay from the run's input. A later step must be a model call, the point where the
 * run asked the model again with what it had so far; a tool call sits inside a model turn, so a
 * fork starts at the model step after it, with its result replaced if wanted.
 *
 * What a fork keeps and what it runs again: the steps before `step` are kept as the parent
 * recorded them (its answers and tool results, a result replaced where `tool_results` says) and
 * are not run again; from `step` on, everything runs anew. An edited message is a new start: the
 * kept steps answered the old one, so it forks at step 0 only.
 */

interface MessageRow {
  seq: number;
  run_id: string | null;
  role: ChatMessage['role'];
  content: string | null;
  tool_calls: NonNullable<ChatMessage['tool_calls']> | null;
  tool_call_id: string | null;
  parts: ContentPart[] | null;
}

/** What the fork's run starts from: the session's earlier turns, its input, and the run's turns before the step. */
export interface ForkStart {
  earlier: ChatMessage[];
  input: string;
  /** The run's message's attachments, as content parts after its text (none: a text-only message). */
  parts?: ContentPart[];
  carried: ChatMessage[];
}

/** The conversation before `step` of `run`, with `changes` applied; 422 naming what does not fit. */
export async function forkStart(
  db: Db,
  run: RunRow,
  steps: StepRow[],
  changes: Pick<ForkInput, 'step' | 'message' | 'tool_results'>,
): Promise<ForkStart> {
  const { step } = changes;
  if (step > 0 && step >= steps.length) {
    throw new AppError(
      'unprocessable',
      `run ${run.id} has no step ${step}: it recorded ${steps.length} (0 to ${steps.length - 1})`,
      { details: { step, steps: steps.length } },
    );
  }
  const at = steps[step];
  if (step > 0 && at?.kind !== 'model') {
    const next = steps.find((s) => s.idx > step && s.kind === 'model');
    throw new AppError(
      'unprocessable',
      `step ${step} is a tool call; fork from a model step${next ? ` (the next is step ${next.idx})` : ''}, replacing the tool's result with tool_results`,
    );
  }
  if (step > 0 && changes.message !== undefined) {
    throw new AppError(
      'unprocessable',
      `an edited message starts the run again: fork it at step 0 (steps 0 to ${step - 1} answered the old message, and a fork at step ${step} keeps them)`,
      { details: { step } },
    );
  }
  if (step > 0 && run.options.multi_agent) {
    throw new AppError(
      'unprocessable',
      `run ${run.id} is a team's run: it can be replayed (step 0), not forked`,
    );
  }
  const rows = await db.query<MessageRow>(
    `select seq, run_id, role, content, tool_calls, tool_call_id, parts from messages
     where session_id = $1 and seq < coalesce((select max(seq) + 1 from messages where session_id = $1 and run_id = $2), 0)
     order by seq`,
    [run.session_id, run.id],
  );
  const first = rows.findIndex((r) => r.run_id === run.id);
  const earlier = (first < 0 ? [] : rows.slice(0, first)).map(toMessage);
  const own = first < 0 ? [] : rows.slice(first + 1).filter((r) => r.run_id === run.id);
  // Each model step answered with one assistant message: the step's place among model steps says
  // how many of the run's assistant messages (and the tool results after them) come before it.
  const before = steps.filter((s) => s.idx < step && s.kind === 'model').length;
  const carried: ChatMessage[] = [];
  let answers = 0;
  for (const m of own) {
    if (m.role === 'assistant' && answers++ === before) break;
    carried.push(toMessage(m));
  }
  if (answers < before) {
    throw new AppError('unprocessable', `run ${run.id}'s conversation does not reach step ${step}`);
  }
  for (const r of changes.tool_results ?? []) {
    const i = carried.findIndex((m) => m.role === 'tool' && m.tool_call_id === r.tool_call_id);
    if (i < 0) {
      throw new AppError('unprocessable', `no result of tool call ${r.tool_call_id} before step ${step}`, {
        details: { tool_call_id: r.tool_call_id },
      });
    }
    carried[i] = { ...carried[i]!, content: r.content };
  }
  const input = changes.message ?? run.input;
  // The run's attachments go with its message, edited or not.
  const attached = (first < 0 ? [] : (rows[first]!.parts ?? [])).filter((p) => p.type !== 'text');
  const parts = attached.length > 0 ? [{ type: 'text', text: input }, ...attached] : undefined;
  return { earlier, input, ...(parts && { parts }), carried };
}

export interface BeginFork {
  tenantId: string;
  parent: RunRow;
  step: number;
  start: ForkStart;
  agentVersion: number;
  options: RunOptions;
  owner: string;
  sessionOwner?: string;
  leaseSeconds: number;
  events: (ids: { sessionId: string; runId: string }) => PendingEvent[];
}

/**
 * The fork's session (its messages copied, the run's own ones under the new run), and the run,
 * started and leased to `owner`, with its first events: one transaction.
 */
export async function beginFork(
  db: Db,
  f: BeginFork,
): Promise<{ runId: string; sessionId: string; events: RunEvent[]; history: ChatMessage[] }> {
  const runId = newId();
  const sessionId = newId();
  const own: ChatMessage[] = [
    { role: 'user', content: f.start.input, ...(f.start.parts && { parts: f.start.parts }) },
    ...f.start.carried,
  ];
  const history = [...f.start.earlier, ...own];
  const events = f.events({ sessionId, runId });
  const messages = history.map((m, i) => ({
    ...m,
    run_id: i < f.start.earlier.length ? null : runId,
    tokens: estimateTokens(m.content ?? ''),
  }));
  const seqs = await db.transaction(async (tx) => {
    await tx.query(
      `insert into sessions (id, tenant_id, agent_id, title, message_count, owner)
       select $1, $2, agent_id, left('fork: ' || title, 200), $3, $4 from sessions where id = $5`,
      [sessionId, f.tenantId, messages.length, f.sessionOwner ?? null, f.parent.session_id],
    );
    await tx.query(
      `insert into messages (session_id, seq, tenant_id, run_id, role, content, tool_calls, tool_call_id, tokens, parts)
       select $1, x.n::int - 1, $2, (x.e->>'run_id')::uuid, x.e->>'role', x.e->>'content',
              nullif(x.e->'tool_calls', 'null'::jsonb), x.e->>'tool_call_id', (x.e->>'tokens')::int,
              nullif(x.e->'parts', 'null'::jsonb)
       from jsonb_array_elements($3::jsonb) with ordinality as x(e, n)`,
      [sessionId, f.tenantId, JSON.stringify(messages)],
    );
    await tx.query(
      `insert into runs (id, tenant_id, session_id, agent_id, status, input, context, options, lease_owner,
                         lease_expires_at, started_at, agent_version, parent_run_id, forked_from_step)
       values ($1, $2, $3, $4, 'running', $5, $6::jsonb, $7::jsonb, $8, now() + make_interval(secs => $9), now(),
               $10, $11, $12)`,
      [
        runId,
        f.tenantId,
        sessionId,
        f.parent.agent_id,
        f.start.input,
        JSON.stringify(f.parent.context),
        JSON.stringify(f.options),
        f.owner,
        f.leaseSeconds,
        f.agentVersion,
        f.parent.id,
        f.step,
      ],
    );
    const [row] = await tx.query<{ seqs: string[] }>(
      `with ev as (
         insert into events (tenant_id, stream_id, type, data, at)
         select $1, $2, x.e->>'type', x.e->'data', (x.e->>'at')::timestamptz
         from jsonb_array_elements($3::jsonb) with ordinality as x(e, n) order by x.n
         returning seq
       ) select array_agg(seq) as seqs from ev`,
      [f.tenantId, runId, JSON.stringify(events)],
    );
    return row!.seqs;
  });
  return { runId, sessionId, events: withSeqs(events, seqs), history };
}
