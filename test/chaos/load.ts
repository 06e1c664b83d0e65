import { resumableRunEvents } from '../../src/client/stream.ts';
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
  /** Unset when the chat request failed before the run was named (its process died first). */
  runId?: string;
  /** How the run ended, as its stream said (`session_end`'s status), or why the stream gave up. */
  ended: string;
  /** Connections it took (1: never dropped). */
  connections: number;
  /** Event ids received, in order. */
  ids: number[];
}

/**
 * Starts a run with a chat on `on` (a random process that serves and works by default) and follows its events to the end with the project's client:
 * when a connection drops (its process killed or restarted), it resumes from another process with
 * `Last-Event-ID`.
 */
export async function followRun(
  fleet: Fleet,
  agentId: string,
  message: string,
  deadline: number,
  on: Proc | undefined = pick(fleet.http(['all'])),
  onStart: () => void = () => {},
) {
  const out: Followed = { ended: 'no session_end', connections: 0, ids: [] };
  // None of that kind up just now (restarting): any process that serves HTTP runs chats too.
  const via = on ?? pick(fleet.http());
  if (!via) return { ...out, ended: 'chat request failed: no process to start it on' };
  const open = async (url: string, init: RequestInit, signal: AbortSignal) => {
    out.connections++;
    const res = await fetch(url, { ...init, signal: AbortSignal.any([signal, AbortSignal.timeout(60_000)]) });
    if (!res.ok) throw new Error(`${res.status}`);
    return res;
  };
  const auth = { authorization: `Bearer ${fleet.adminKey}` };
  try {
    const events = resumableRunEvents(
      (signal) =>
        open(
          `${via.url}/v1/agents/${agentId}/chat`,
          {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body: JSON.stringify({ message, stream: true }),
          },
          signal,
        ),
      (runId) => (signal, last) => {
        const to = pick(fleet.http()) ?? via;
        const headers = { ...auth, ...(last !== undefined && { 'last-event-id': String(last) }) };
        return open(`${to.url}/v1/runs/${runId}/stream`, { headers }, signal);
      },
      {
        maxReconnects: 20,
        reconnectDelayMs: 250,
        signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
      },
    );
    for await (const e of events) {
      out.ids.push(e.id);
      if (e.type === 'session_start') {
        out.runId = e.run_id;
        onStart();
      }
      if (e.type === 'session_end') out.ended = String((e as { status?: string }).status);
    }
  } catch (err) {
    // Before session_start nothing names the run: the client saw its chat request fail.
    const cause = (err as Error).cause as Error | undefined;
    const why = `${(err as Error).message}${cause ? `: ${cause.message}` : ''}`.slice(0, 120);
    out.ended = out.runId ? `stream gave up: ${why}` : `chat request failed: ${why}`;
  }
  return out;
}

/**
 * Whether each stream saw its run's log exactly: every event once, in order, none missing (from the
 * first it received to its end).
 */
export async function streamsExact(
  fleet: Fleet,
  runs: Followed[],
): Promise<{ exact: number; inexact: number }> {
  let exact = 0;
  for (const r of runs) {
    if (!r.runId) continue;
    const { rows } = await fleet.db.query('select seq from events where stream_id = $1 order by seq', [
      r.runId,
    ]);
    const logged = rows.map((x) => Number(x.seq));
    if (JSON.stringify(logged) === JSON.stringify(r.ids)) exact++;
  }
  return { exact, inexact: runs.filter((r) => r.runId).length - exact };
}

/** How the runs ended, from the database: `completed`, `failed (orphaned)`, … */
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
