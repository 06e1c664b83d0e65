import { canSee, type Viewer } from '../../auth/ownership.ts';
import type { Db, Queryable } from '../../db/db.ts';
import { newId } from '../../db/ids.ts';
import { AppError, notFound } from '../../errors.ts';
import { estimateTokens } from '../../models/tokens.ts';
import type { ChatMessage, ContentPart, ToolCall } from '../../models/types.ts';
import type { MultitaskStrategy, RunStatus } from '../schema.ts';
import type { PendingEvent, RunEvent } from './events.ts';
import { withSeqs } from './events.ts';
import type { RunOptions } from './rows.ts';
import { cancelActive } from './stop.ts';

/**
 * How a turn starts, in as few round trips as the store allows: one statement on a new session
 * (session, run, the user's message and the first events; the new sessions started together share
 * it); on an existing one a transaction of two,
 * whose first statement locks the session, decides the multitask strategy and reads the history the
 * model will see. Both check the agent's version in the same statement, so the runtime may use an
 * agent config it remembers: a changed or deleted agent is `AgentChanged`, and nothing is written.
 */

export interface BeginInput {
  tenantId: string;
  agentId: string;
  /** The agent's latest version as the runtime knows it: the start is refused if it is not current. */
  agentVersion: number;
  /** The version the run runs, recorded on it: a pinned one, else `agentVersion`. */
  runsVersion?: number;
  sessionId?: string;
  input: string;
  /** The message's content parts (text first) when it came with attachments: stored with it. */
  parts?: ContentPart[];
  context: Record<string, unknown>;
  options: RunOptions;
  multitask: MultitaskStrategy;
  taskId?: string;
  owner: string;
  /** Who starts the run: another user's private session is not found for them. */
  viewer?: Viewer;
  /** The user a new session belongs to. */
  sessionOwner?: string;
  leaseSeconds: number;
  /** The first events of the run (session_start, and system when it starts at once). */
  events: (ids: { sessionId: string; runId: string; status: 'running' | 'queued' }) => PendingEvent[];
}

export interface Begun {
  sessionId: string;
  runId: string;
  status: 'running' | 'queued';
  newSession: boolean;
  events: RunEvent[];
  /** Runs this one interrupted, already marked cancelled (with their stream events written). */
  interrupted: string[];
  /** The session's messages with the new one last, when the run starts now. */
  history?: ChatMessage[];
}

/** The agent changed (or was deleted) since the runtime read it: read it again and retry. */
export class AgentChanged extends Error {
  constructor(readonly agentId: string) {
    super(`agent ${agentId} changed since it was read`);
  }
}

/** Starts a turn in an existing session; a new session's first turn goes through `NewSessionStarts`. */
export function beginInExisting(db: Db, b: BeginInput, sessionId: string): Promise<Begun> {
  return db.transaction((tx) => beginInSession(tx, b, sessionId));
}

/**
 * The parameters the start in a session takes for the run, its user message and its events, as
 * $7 to $13: input, context, options, lease owner, lease seconds, the message's tokens, the events.
 */
function turnParams(b: BeginInput, events: PendingEvent[]): unknown[] {
  return [
    b.input,
    JSON.stringify(b.context),
    JSON.stringify(b.options),
    b.owner,
    b.leaseSeconds,
    estimateTokens(b.input),
    JSON.stringify(events),
  ];
}

/** A new session's first turn, ready to write: its ids, its events and its row as JSON. */
export interface PlannedStart {
  b: BeginInput;
  sessionId: string;
  runId: string;
  events: PendingEvent[];
  /** The start as the statement reads it (a JSON object): its length is what it adds to a batch. */
  json: string;
}

export function planNewSession(b: BeginInput): PlannedStart {
  const runId = newId();
  const sessionId = newId();
  const events = b.events({ sessionId, runId, status: 'running' });
  const json = JSON.stringify({
    session_id: sessionId,
    run_id: runId,
    tenant_id: b.tenantId,
    agent_id: b.agentId,
    title: b.input.slice(0, 120),
    task_id: b.taskId,
    input: b.input,
    context: b.context,
    options: b.options,
    owner: b.owner,
    lease: b.leaseSeconds,
    tokens: estimateTokens(b.input),
    events,
    agent_version: b.agentVersion,
    session_owner: b.sessionOwner,
    runs_version: b.runsVersion ?? b.agentVersion,
    parts: b.parts,
  });
  return { b, sessionId, runId, events, json };
}

/**
 * The first turns of new sessions, any number in one statement: each one's session, run, user
 * message and first events. A start whose agent is not current at that version writes nothing and
 * comes back as `AgentChanged`; the others are written. Their events are inserted in the order
 * given, each run's in its own order, so each stream's seqs rise as its events do.
 */
export async function beginNewSessions(
  db: Queryable,
  planned: readonly PlannedStart[],
): Promise<Array<Begun | AgentChanged>> {
  const rows = await db.query<{ run_id: string; seqs: string[] | null }>(
    `with x as (
       select j.n, r.* from jsonb_array_elements($1::jsonb) with ordinality as j(start, n),
         jsonb_to_record(j.start) as r(
           session_id uuid, run_id uuid, tenant_id uuid, agent_id uuid, title text, task_id uuid,
           input text, context jsonb, options jsonb, owner text, lease float8, tokens int, events jsonb,
           agent_version int, session_owner text, runs_version int, parts jsonb)
     ), ok as (
       -- Every insert reads from here: a start whose agent is not current at its version writes nothing.
       select x.* from x join agents a on a.id = x.agent_id and a.tenant_id = x.tenant_id and a.version = x.agent_version
     ), s as (
       insert into sessions (id, tenant_id, agent_id, title, message_count, owner)
       select session_id, tenant_id, agent_id, title, 1, session_owner from ok
     ), r as (
       insert into runs (id, tenant_id, session_id, agent_id, task_id, status, input, context, options,
                         lease_owner, lease_expires_at, started_at, agent_version)
       select run_id, tenant_id, session_id, agent_id, task_id, 'running', input, context, options,
              owner, now() + make_interval(secs => lease), now(), runs_version
       from ok
     ), m as (
       insert into messages (session_id, seq, tenant_id, run_id, role, content, tokens, parts)
       select session_id, 0, tenant_id, run_id, 'user', input, tokens, parts from ok
     ), ev as (
       insert into events (tenant_id, stream_id, type, data, at)
       select ok.tenant_id, ok.run_id, e.e->>'type', e.e->'data', (e.e->>'at')::timestamptz
       from ok, jsonb_array_elements(ok.events) with ordinality as e(e, k) order by ok.n, e.k
       returning stream_id, seq
     )
     select ok.run_id, (select array_agg(ev.seq order by ev.seq) from ev where ev.stream_id = ok.run_id) as seqs
     from ok`,
    [`[${planned.map((p) => p.json).join(',')}]`],
    // Every new session's first turns: parsed and planned once per connection.
    { name: 'agentry_runs_begin' },
  );
  const seqsOf = new Map(rows.map((r) => [r.run_id, r.seqs ?? []]));
  return planned.map(({ b, runId, sessionId, events }) => {
    const seqs = seqsOf.get(runId);
    if (!seqs) return new AgentChanged(b.agentId);
    return {
      sessionId,
      runId,
      status: 'running',
      newSession: true,
      events: withSeqs(events, seqs),
      interrupted: [],
      history: [userMessage(b)],
    };
  });
}

interface HistoryRow {
  role: ChatMessage['role'];
  content: string | null;
  tool_calls: ToolCall[] | null;
  tool_call_id: string | null;
  parts?: ContentPart[] | null;
}

async function beginInSession(tx: Queryable, b: BeginInput, sessionId: string): Promise<Begun> {
  const runId = newId();
  // The session's row lock serialises concurrent messages to it: the multitask decision below
  // cannot race another one, and no other run adds messages to the history read here.
  const [session] = await tx.query<{
    agent_id: string;
    message_count: number;
    owner: string | null;
    visibility: string;
    active: ActiveRun[] | null;
    agent_version: number | null;
    history: HistoryRow[] | null;
  }>(
    `select s.agent_id, s.message_count, s.owner, s.visibility,
            (select jsonb_agg(jsonb_build_object('id', r.id, 'status', r.status) order by r.created_at)
             from runs r where r.session_id = s.id and r.status in ('queued', 'running', 'input_required', 'interrupted')) as active,
            (select a.version from agents a where a.id = s.agent_id and a.tenant_id = s.tenant_id) as agent_version,
            (select jsonb_agg(jsonb_build_object('role', m.role, 'content', m.content, 'tool_calls', m.tool_calls,
                                                 'tool_call_id', m.tool_call_id, 'parts', m.parts) order by m.seq)
             from messages m where m.session_id = s.id) as history
     from sessions s where s.id = $1 and s.tenant_id = $2 for update of s`,
    [sessionId, b.tenantId],
    { name: 'agentry_run_session' },
  );
  if (!session || !canSee(b.viewer, session)) throw notFound('session', sessionId);
  if (session.agent_id !== b.agentId) {
    throw new AppError(
      'conflict',
      `session ${sessionId} belongs to agent ${session.agent_id}, not ${b.agentId}`,
    );
  }
  if (session.agent_version !== b.agentVersion) throw new AgentChanged(b.agentId);
  const active = session.active ?? [];
  let status: 'running' | 'queued' = 'running';
  let interrupted: string[] = [];
  if (active.length > 0) {
    if (b.multitask === 'reject') {
      throw new AppError(
        'conflict',
        `session ${sessionId} has a run in progress (run ${active[0]!.id}, ${active[0]!.status}); ` +
          'wait for it, or send multitask "enqueue" or "interrupt"',
        { details: { run_id: active[0]!.id, status: active[0]!.status } },
      );
    }
    if (b.multitask === 'enqueue') status = 'queued';
    else interrupted = await cancelActive(tx, sessionId, 'interrupted by a newer message in the session');
  }
  const events = b.events({ sessionId, runId, status });
  const [row] = await tx.query<{ seqs: string[] }>(
    `with r as (
       insert into runs (id, tenant_id, session_id, agent_id, task_id, status, input, context, options,
                         lease_owner, lease_expires_at, started_at, agent_version)
       select $1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb,
              case when $6 = 'running' then $10 end,
              case when $6 = 'running' then now() + make_interval(secs => $11) end,
              case when $6 = 'running' then now() end, $14
     ), s as (
       update sessions set message_count = message_count + 1, updated_at = now()
       where id = $3 and $6 = 'running' returning message_count
     ), m as (
       insert into messages (session_id, seq, tenant_id, run_id, role, content, tokens, parts)
       select $3, s.message_count - 1, $2, $1, 'user', $7, $12, $15::jsonb from s
     ), ev as (
       insert into events (tenant_id, stream_id, type, data, at)
       select $2, $1, x.e->>'type', x.e->'data', (x.e->>'at')::timestamptz
       from jsonb_array_elements($13::jsonb) with ordinality as x(e, n) order by x.n
       returning seq
     )
     select array_agg(seq) as seqs from ev`,
    [
      runId,
      b.tenantId,
      sessionId,
      b.agentId,
      b.taskId ?? null,
      status,
      ...turnParams(b, events),
      b.runsVersion ?? b.agentVersion,
      partsParam(b),
    ],
    { name: 'agentry_run_begin_in_session' },
  );
  return {
    sessionId,
    runId,
    status,
    newSession: false,
    events: withSeqs(events, row!.seqs),
    interrupted,
    ...(status === 'running' && {
      history: [...(session.history ?? []).map(toMessage), userMessage(b)],
    }),
  };
}

export function toMessage(r: HistoryRow): ChatMessage {
  return {
    role: r.role,
    content: r.content,
    ...(r.tool_calls && { tool_calls: r.tool_calls }),
    ...(r.tool_call_id && { tool_call_id: r.tool_call_id }),
    ...(r.parts && { parts: r.parts }),
  };
}

const userMessage = (b: BeginInput): ChatMessage => ({
  role: 'user',
  content: b.input,
  ...(b.parts && { parts: b.parts }),
});

const partsParam = (b: BeginInput) => (b.parts ? JSON.stringify(b.parts) : null);

interface ActiveRun {
  id: string;
  status: RunStatus;
}
