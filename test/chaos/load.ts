import { resumableRunEvents } from '../../packages/client/src/stream.ts';
import type { Answer, Fleet, Proc } from './fleet.ts';

/** What the chaos scenarios drive the fleet with: tasks, followed runs, and a tally of answers. */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Answers counted by kind: `202`, `503 store_unavailable`, `no answer`; and 5xx without Retry-After. */
export class Tally {
  readonly counts: Record<string, number> = {};
  total = 0;
  fiveXX = 0;
  /** 5xx answers other than 503 with a Retry-After header (a crash, a 500, a 503 with no hint). */
  bad5xx = 0;

  add(a: Answer): void {
    this.total++;
    const key =
      a.status === 0 ? 'no answer' : a.status >= 500 ? `${a.status} ${a.body?.error?.code}` : `${a.status}`;
    this.counts[key] = (this.counts[key] ?? 0) + 1;
    if (a.status >= 500) {
      this.fiveXX++;
      if (a.status !== 503 || !(Number(a.headers?.get('retry-after')) > 0)) this.bad5xx++;
    }
  }

  get(key: string): number {
    return this.counts[key] ?? 0;
  }

  toString(): string {
    return Object.entries(this.counts)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${v}×${k}`)
      .join(' ');
  }
}

export interface Enqueuer {
  /** Task ids the API acknowledged (202, or 200 for a key it already had). */
  ids: Set<string>;
  /** Answers that said "this key is already a task": a retried enqueue the key de-duplicated. */
  replays: number;
  tally: Tally;
}

/**
 * Enqueues tasks `<prefix>-0` … `<prefix>-(n-1)`, `parallel` at a time, each retried (same
 * idempotency key, so a retry never makes a second task) until acknowledged or `deadline`.
 */
export async function enqueue(
  fleet: Fleet,
  agentId: string,
  prefix: string,
  n: number,
  o: { parallel?: number; deadline: number; callbackUrl?: string; tally?: Tally; paceMs?: number },
): Promise<Enqueuer> {
  const out: Enqueuer = { ids: new Set(), replays: 0, tally: o.tally ?? new Tally() };
  let next = 0;
  const one = async (i: number) => {
    const body = {
      agent_id: agentId,
      task_type: 'default',
      title: `${prefix} ${i}`,
      idempotency_key: `${prefix}-${i}`,
      // Kills and outages cut attempts short: room for several before a task would fail.
      max_attempts: 20,
      ...(o.callbackUrl && { callback_url: o.callbackUrl }),
    };
    for (let tries = 0; tries < 1000 && Date.now() < o.deadline; tries++) {
      const r = await fleet.request('POST', '/v1/tasks', { body });
      out.tally.add(r);
      if (r.status === 202 || r.status === 200) {
        out.ids.add(r.body.id);
        if (r.status === 200) out.replays++;
        return;
      }
      if (r.status >= 400 && r.status < 500 && r.status !== 429) return; // a refusal: asking again changes nothing
      await sleep(r.status === 0 ? 100 : 250);
    }
  };
  await Promise.all(
    Array.from({ length: o.parallel ?? 16 }, async () => {
      while (next < n && Date.now() < o.deadline) {
        await one(next++);
        if (o.paceMs) await sleep(o.paceMs);
      }
    }),
  );
  return out;
}

export interface TaskOutcome {
  completed: number;
  failed: number;
  /** Not ended by the deadline: still pending or in progress. */
  unfinished: number;
  /** Acknowledged ids with no row at all. */
  missing: number;
  /** Tasks whose agent ran more than once (a run per execution): the queue is at-least-once. */
  ranTwice: number;
  /** Tasks claimed more than once (a claim cut by a kill or an outage, then taken again). */
  retried: number;
}

/** Waits until every task is completed or failed (or `deadline`), then counts from the database. */
export async function settle(fleet: Fleet, ids: Set<string>, deadline: number): Promise<TaskOutcome> {
  const list = [...ids];
  const count = (where: string) =>
    fleet.count(`select count(*) as n from tasks where id = any($1) and ${where}`, [list]);
  while (Date.now() < deadline) {
    const open = await count(`status in ('pending', 'in_progress')`).catch(() => -1);
    if (open === 0) break;
    await sleep(500);
  }
  return {
    completed: await count(`status = 'completed'`),
    failed: await count(`status in ('failed', 'cancelled')`),
    unfinished: await count(`status in ('pending', 'in_progress')`),
    missing: list.length - (await count('true')),
    ranTwice: await fleet.count(
      `select count(*) as n from (select task_id from runs where task_id = any($1)
         group by task_id having count(*) > 1) d`,
      [list],
    ),
    retried: await count('attempts > 1'),
  };
}

export interface Followed {
  /** The run's tag in its message (`run 7`): how the model server counts its requests. */
  tag: string;
  /**
   * Unset when the chat request failed before the run was named and no run began (its process was
   * gone); a run that began but whose chat answer was cut before naming it is found by its tag.
   */
  runId?: string;
  /** How the run ended, as its stream said (`session_end`'s status), or why the stream gave up. */
  ended: string;
  /** Connections it took (1: never dropped). */
  connections: number;
  /** Chats sent again, to another process, after one refused them before any run began. */
  retries: number;
  /** Event ids received, in order. */
  ids: number[];
}

let tags = 0;

/**
 * Starts a run with a chat on `on` (a random process that serves and works by default) and follows
 * its events to the end with the project's client: when a connection drops (its process killed or
 * restarted), it resumes from another process with `Last-Event-ID`.
 */
export async function followRun(
  fleet: Fleet,
  agentId: string,
  message: string,
  deadline: number,
  on: Proc | undefined = pick(fleet.http(['all'])),
  onStart: () => void = () => {},
) {
  const tag = `run ${++tags}`;
  const out: Followed = { tag, ended: 'no session_end', connections: 0, retries: 0, ids: [] };
  // None of that kind up just now (restarting): any process that serves HTTP runs chats too.
  const first = on ?? pick(fleet.http());
  if (!first) return { ...out, ended: 'chat request failed: no process to start it on' };
  let via = first;
  const open = async (url: string, init: RequestInit, signal: AbortSignal) => {
    out.connections++;
    const res = await fetch(url, { ...init, signal: AbortSignal.any([signal, AbortSignal.timeout(60_000)]) });
    if (!res.ok) throw new Error(`${res.status}`);
    return res;
  };
  const auth = { authorization: `Bearer ${fleet.adminKey}` };
  const reopen = (runId: string) => (signal: AbortSignal, last: number | undefined) => {
    const to = pick(fleet.http()) ?? first;
    const headers = { ...auth, ...(last !== undefined && { 'last-event-id': String(last) }) };
    return open(`${to.url}/v1/runs/${runId}/stream`, { headers }, signal);
  };
  const follow = async (start: (signal: AbortSignal) => Promise<Response>, runId?: string) => {
    const events = resumableRunEvents(start, reopen, {
      maxReconnects: 20,
      reconnectDelayMs: 250,
      signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
      runId,
    });
    for await (const e of events) {
      out.ids.push(e.id);
      if (e.type === 'session_start') {
        out.runId = e.run_id;
        onStart();
      }
      if (e.type === 'session_end') out.ended = String((e as { status?: string }).status);
    }
  };
  const chat = (signal: AbortSignal) =>
    open(
      `${via.url}/v1/agents/${agentId}/chat`,
      {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ message: `${message} [${tag}]`, stream: true }),
      },
      signal,
    );
  const gaveUp = (err: unknown) => {
    const cause = (err as Error).cause as Error | undefined;
    const why = `${(err as Error).message}${cause ? `: ${cause.message}` : ''}`.slice(0, 120);
    out.ended = out.runId ? `stream gave up: ${why}` : `chat request failed: ${why}`;
  };
  for (let attempt = 0; ; attempt++) {
    try {
      await follow(chat);
      break;
    } catch (err) {
      gaveUp(err);
      if (out.runId) break;
      // Cut before session_start named the run: the client cannot tell whether one began. The store
      // can, once the process is gone (a dead process begins nothing more): a run that began carries
      // on elsewhere, and its stream is followed from its start.
      const dead = await Promise.race([via.exited.then(() => true), sleep(2000).then(() => false)]);
      if (dead) await sleep(200); // a statement it sent just before dying still commits
      const found = await runByTag(fleet, tag);
      if (found) {
        out.ids = [];
        out.ended = 'no session_end';
        await follow((signal) => reopen(found)(signal, undefined), found).catch(gaveUp);
        out.runId = found;
        break;
      }
      // Refused (its process gone, or draining: 503), or its process died before any run began:
      // what a client or a load balancer does, sending it to another process.
      const next = pick(fleet.http());
      if (attempt >= 4 || !(dead || refusedBeforeRun(err)) || !next || Date.now() > deadline) break;
      out.retries++;
      via = next;
      await sleep(250);
    }
  }
  return out;
}
/** A connection refused, or a 503 (the process is stopping or the store is out): nothing began. */
function refusedBeforeRun(err: unknown): boolean {
  for (let e = err as (Error & { code?: string }) | undefined, i = 0; e && i < 5; e = e.cause as never, i++) {
    if (e.code === 'ECONNREFUSED' || e.message === '503') return true;
  }
  return false;
}

/** The run whose message carries this tag, if one began. */
async function runByTag(fleet: Fleet, tag: string): Promise<string | undefined> {
  const { rows } = await fleet.db
    .query('select id from runs where input like $1', [`%[${tag}]`])
    .catch(() => ({ rows: [] }));
  return rows[0]?.id;
}

/**
 * Whether each stream saw its run's log exactly: every event once, in order, none missing (from the
 * first it received to its end).
 */
export async function streamsExact(
  fleet: Fleet,
  runs: Followed[],
): Promise<{ exact: number; inexact: number; details: string[] }> {
  let exact = 0;
  const details: string[] = [];
  for (const r of runs) {
    if (!r.runId) continue;
    const { rows } = await fleet.db.query(
      'select seq, type, data->>$2 as after from events where stream_id = $1 order by seq',
      [r.runId, 'after'],
    );
    const logged = rows.map((x) => Number(x.seq));
    if (JSON.stringify(logged) === JSON.stringify(r.ids)) exact++;
    else {
      const types = rows.map((x) => `${x.seq}:${x.type}${x.after ? `(${x.after})` : ''}`).join(' ');
      details.push(
        `${r.tag} ${r.runId} (${difference(logged, r.ids)}; ${r.ended}): received ${r.ids.join(',')} ` +
          `in ${r.connections} connections; logged ${types}`,
      );
    }
  }
  return { exact, inexact: runs.filter((r) => r.runId).length - exact, details };
}

/** How a stream differs from its log: events seen twice, missing inside, or cut short at the end. */
function difference(logged: readonly number[], received: readonly number[]): string {
  const seen = new Set(received);
  const repeated = received.filter((id, i) => received.indexOf(id) !== i);
  const last = received.at(-1) ?? 0;
  const missing = logged.filter((id) => id < last && id >= (received[0] ?? 0) && !seen.has(id));
  const after = logged.filter((id) => id > last).length;
  return [
    repeated.length > 0 && `repeated ${repeated.join(',')}`,
    missing.length > 0 && `missing ${missing.join(',')}`,
    after > 0 && `stopped ${after} events before the end`,
  ]
    .filter(Boolean)
    .join(', ');
}

/** What the takeovers of the followed runs did again, from the model server's count and each run's record. */
export interface Redone {
  /** Runs another process carried on (a `run_resumed` event), and of those after a crash. */
  takenOver: number;
  afterCrash: number;
  /** Model requests sent again: a call in flight when its process died is asked again (at least once). */
  askedAgain: number;
  /**
   * Requests beyond the run's recorded calls plus one per takeover after a crash: a model call whose
   * answer was recorded, sent again (exactly once says 0).
   */
  answeredAgain: number;
  /**
   * Calculator calls run again: one in flight when its process died (its result not yet recorded
   * with its round, though it may have been streamed) runs again on the new owner (at least once).
   */
  toolsAgain: number;
  /** Results beyond one plus one per takeover after a crash: a recorded tool result redone (exactly once says 0). */
  toolRedone: number;
}

export async function redone(fleet: Fleet, runs: Followed[]): Promise<Redone> {
  const named = runs.filter((r) => r.runId);
  const { rows } = await fleet.db.query(
    `select r.id, r.model_calls,
       count(*) filter (where e.type = 'tool_result')::int as results,
       count(*) filter (where e.type = 'run_resumed')::int as resumed,
       count(*) filter (where e.type = 'run_resumed' and e.data->>'after' = 'crash')::int as crashes
     from runs r left join events e on e.stream_id = r.id
     where r.id = any($1) group by r.id, r.model_calls`,
    [named.map((r) => r.runId)],
  );
  const byId = new Map(rows.map((x) => [x.id as string, x]));
  const out: Redone = {
    takenOver: 0,
    afterCrash: 0,
    askedAgain: 0,
    answeredAgain: 0,
    toolsAgain: 0,
    toolRedone: 0,
  };
  for (const r of named) {
    const row = byId.get(r.runId!);
    if (!row) continue;
    const requests = fleet.model.count(r.tag);
    out.takenOver += row.resumed > 0 ? 1 : 0;
    out.afterCrash += row.crashes > 0 ? 1 : 0;
    out.askedAgain += Math.max(0, requests - row.model_calls);
    out.answeredAgain += Math.max(0, requests - row.model_calls - row.crashes);
    out.toolsAgain += Math.max(0, row.results - 1);
    out.toolRedone += Math.max(0, row.results - 1 - row.crashes);
  }
  return out;
}

/** How the runs ended, from the database: `completed`, `failed (poisoned)`, … */
export async function runOutcomes(fleet: Fleet, runIds: string[]): Promise<Record<string, number>> {
  const { rows } = await fleet.db.query(
    `select status, error_code, count(*)::int as n from runs where id = any($1) group by 1, 2`,
    [runIds],
  );
  return Object.fromEntries(
    rows.map((r) => [r.error_code ? `${r.status} (${r.error_code})` : r.status, r.n]),
  );
}

export const describeCounts = (c: Record<string, number>) =>
  Object.entries(c)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ') || 'none';

function pick<T>(list: T[]): T | undefined {
  return list[Math.floor(Math.random() * list.length)];
}
