import { createServer, type Server } from 'node:http';
import { verify } from '../../src/tasks/signature.ts';
import { closedPort } from '../helpers/closed-port.ts';
import type { Fleet, Proc } from './fleet.ts';
import {
  describeCounts,
  enqueue,
  type Followed,
  followRun,
  type Redone,
  redone,
  runOutcomes,
  settle,
  sleep,
  streamsExact,
  Tally,
  type TaskOutcome,
} from './load.ts';

/** The five chaos scenarios of docs/chaos.md. Each returns its figures and a row of the table. */

export interface Sizes {
  tasks: number;
  runs: number;
  kills: number;
  /** Between two kills. */
  killEveryMs: number;
  pgOutageMs: number;
  redisOutageMs: number;
  receiverDownMs: number;
  callbacks: number;
  /** Load before and after a fault, so both phases are in the figures. */
  calmMs: number;
  /** The longest any scenario waits for its work to end after the chaos. */
  settleMs: number;
}

export interface Row {
  scenario: string;
  done: string;
  outcome: string;
  lost: number;
  duplicates: string;
  fiveXX: string;
  recovery: string;
}

export interface Agents {
  /** Answers a task with one model call. */
  worker: string;
  /** A run of two model calls around a calculator call, on the harness's model server (model.ts). */
  stepper: string;
}

const RUN_MESSAGE = 'use the calculator tool on (2 + 3) * 4';
const notStarted = (runs: Followed[]) => runs.filter((r) => !r.runId).length;
const sentAgain = (runs: Followed[]) => runs.reduce((n, r) => n + r.retries, 0);
/** Runs that began and did not complete: durable runs carry on through kills and deploys. */
const runsLost = (runs: Followed[]) => runs.filter((r) => r.runId && r.ended !== 'completed').length;
const takeovers = (x: Redone) => `${x.takenOver} taken over (${x.afterCrash} after a crash)`;
const redoneCell = (x: Redone) =>
  `${x.answeredAgain} answered model calls sent again, ${x.toolRedone} recorded tool results redone; in flight at a death: ${x.askedAgain} model calls asked again, ${x.toolsAgain} tool calls run again`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const lostOf = (t: TaskOutcome, asked: number, acked: number) =>
  asked - acked + t.missing + t.unfinished + t.failed;

export async function setUp(fleet: Fleet): Promise<Agents> {
  const worker = await fleet.must('POST', '/v1/agents', { name: 'chaos-worker' });
  const stepper = await fleet.must('POST', '/v1/agents', {
    name: 'chaos-stepper',
    model: 'chaos/steps',
    tools: ['calculator'],
  });
  return { worker: worker.id, stepper: stepper.id };
}

/** Starts a followed run on `proc`; resolves once the run is named (or 5 s passed), its follow to come. */
async function startNamed(fleet: Fleet, agentId: string, proc: Proc, deadline: number) {
  let named = () => {};
  const started = new Promise<void>((resolve) => {
    named = resolve;
  });
  const follow = followRun(fleet, agentId, RUN_MESSAGE, deadline, proc, named);
  await Promise.race([started, follow, sleep(5000)]);
  return { follow };
}

/** 1. N tasks and M multi-step runs while queue processes are SIGKILLed K times and restarted. */
export async function killWorkers(fleet: Fleet, agents: Agents, s: Sizes) {
  const deadline = Date.now() + s.settleMs;
  const enqueued = enqueue(fleet, agents.worker, 'kill', s.tasks, { deadline });
  const runs = Promise.all(
    Array.from({ length: s.runs }, async (_, i) => {
      await sleep((i * s.kills * s.killEveryMs) / s.runs);
      return followRun(fleet, agents.stepper, RUN_MESSAGE, deadline);
    }),
  );
  const caught: Promise<Followed>[] = [];
  let kills = 0;
  const restarts: Promise<unknown>[] = [];
  for (; kills < s.kills; kills++) {
    await sleep(s.killEveryMs);
    // In turn, so every kind of queue process dies; each one serving HTTP dies with a run in flight.
    const victims = fleet.procs.filter((p) => p.up && p.role !== 'api');
    const victim = victims[kills % Math.max(1, victims.length)];
    if (!victim) continue;
    if (victim.role === 'all')
      caught.push((await startNamed(fleet, agents.stepper, victim, deadline)).follow);
    await fleet.kill(victim);
    restarts.push(fleet.launch(victim.role, victim.name));
  }
  await Promise.all(restarts);
  const e = await enqueued;
  const t = await settle(fleet, e.ids, deadline);
  const followed = [...(await runs), ...(await Promise.all(caught))];
  const ran = await runOutcomes(
    fleet,
    followed.flatMap((r) => (r.runId ? [r.runId] : [])),
  );
  const streams = await streamsExact(fleet, followed);
  const again = await redone(fleet, followed);
  const lost = lostOf(t, s.tasks, e.ids.size);
  return {
    tasks: t,
    enqueue: e,
    runs: ran,
    followed,
    streams,
    redone: again,
    rows: [
      {
        scenario: '1. kill -9 workers',
        done: `${s.tasks} tasks, ${kills} SIGKILLs + restarts`,
        outcome: `${t.completed}/${s.tasks} completed; ${t.retried} claimed again; ${e.replays} enqueue retries de-duplicated by key`,
        lost,
        duplicates: `${t.ranTwice} ran twice (at-least-once)`,
        fiveXX: `${e.tally.fiveXX} (${e.tally.bad5xx} not 503+Retry-After)`,
        recovery: `lease ${fleet.o.leaseSeconds} s`,
      },
      {
        scenario: '1. … runs meanwhile',
        done: `${followed.length} two-step runs (${caught.length} on a process as it is killed)`,
        outcome: `${describeCounts(ran)}; ${takeovers(again)}; ${sentAgain(followed)} chats refused before a run began sent elsewhere, ${notStarted(followed)} never began`,
        lost: runsLost(followed),
        duplicates: redoneCell(again),
        fiveXX: '-',
        recovery: `${followed.filter((r) => r.connections > 1).length} streams resumed elsewhere, ${streams.inexact} inexact`,
      },
    ] as Row[],
  };
}

/**
 * Load that runs until stopped: enqueues (retrying what was refused, same key) and reads tasks back.
 * Answers are tallied by phase (the caller switches `phase`).
 */
function backgroundLoad(fleet: Fleet, agentId: string, prefix: string, deadline: number) {
  const tallies = { before: new Tally(), during: new Tally(), after: new Tally() };
  const state = { phase: 'before' as keyof typeof tallies, stop: false, ids: new Set<string>(), asked: 0 };
  const pending: number[] = [];
  const loop = async () => {
    for (let i = 0; i < 100_000 && !state.stop && Date.now() < deadline; i++) {
      const n = pending.shift() ?? state.asked++;
      const tally = tallies[state.phase];
      const r = await fleet.request('POST', '/v1/tasks', {
        body: {
          agent_id: agentId,
          task_type: 'default',
          title: `${prefix} ${n}`,
          idempotency_key: `${prefix}-${n}`,
          max_attempts: 20,
        },
      });
      tally.add(r);
      if (r.status === 202 || r.status === 200) state.ids.add(r.body.id);
      else if (r.status === 0 || r.status === 429 || r.status >= 500) pending.push(n); // again later, same key
      const id = [...state.ids][Math.floor(Math.random() * state.ids.size)];
      if (id) tally.add(await fleet.request('GET', `/v1/tasks/${id}`));
      await sleep(r.status === 0 ? 100 : 50);
    }
  };
  const loops = Promise.all([loop(), loop(), loop(), loop()]);
  return {
    tallies,
    state,
    /** Stops the load, then asks again for every key not yet acknowledged. */
    async finish() {
      state.stop = true;
      await loops;
      const retried = await enqueueKeys(fleet, agentId, prefix, pending, deadline);
      for (const id of retried) state.ids.add(id);
      return state.ids;
    },
  };
}

async function enqueueKeys(fleet: Fleet, agentId: string, prefix: string, keys: number[], deadline: number) {
  const ids: string[] = [];
  for (const n of keys) {
    for (let tries = 0; tries < 100 && Date.now() < deadline; tries++) {
      const r = await fleet.request('POST', '/v1/tasks', {
        body: {
          agent_id: agentId,
          task_type: 'default',
          title: `${prefix} ${n}`,
          idempotency_key: `${prefix}-${n}`,
          max_attempts: 20,
        },
      });
      if (r.status === 202 || r.status === 200) {
        ids.push(r.body.id);
        break;
      }
      await sleep(250);
    }
  }
  return ids;
}

/** Until every HTTP process answers 2xx: ms since `since` (or -1 by the deadline). */
async function untilAllAnswer(
  fleet: Fleet,
  [method, path]: [string, string],
  since: number,
  deadline: number,
  o: { key?: string; body?: unknown } = {},
) {
  while (Date.now() < deadline) {
    const answers = await Promise.all(fleet.http().map((via) => fleet.request(method, path, { via, ...o })));
    if (answers.every((a) => a.status >= 200 && a.status < 300)) return Date.now() - since;
    await sleep(100);
  }
  return -1;
}

/** 2. PostgreSQL stopped under load, then started again; the processes are not restarted. */
export async function stopPostgres(fleet: Fleet, agents: Agents, s: Sizes) {
  const deadline = Date.now() + s.pgOutageMs + s.settleMs;
  const crashesBefore = fleet.crashes.length;
  const load = backgroundLoad(fleet, agents.worker, 'pg', deadline);
  await sleep(s.calmMs);
  load.state.phase = 'during';
  fleet.pg.stop();
  await sleep(s.pgOutageMs);
  const health = await fleet.request('GET', '/health');
  fleet.pg.start();
  const back = Date.now();
  load.state.phase = 'after';
  const recovery = await untilAllAnswer(fleet, ['GET', '/v1/tasks?limit=1'], back, deadline);
  await sleep(s.calmMs);
  const ids = await load.finish();
  const t = await settle(fleet, ids, deadline);
  const crashed = fleet.crashes.slice(crashesBefore);
  const { during } = load.tallies;
  const all5xx = Object.values(load.tallies).reduce((n, x) => n + x.fiveXX, 0);
  return {
    tasks: t,
    tallies: load.tallies,
    health,
    crashed,
    recoveryMs: recovery,
    rows: [
      {
        scenario: '2. PostgreSQL down',
        done: `stopped ${secs(s.pgOutageMs)} under load`,
        outcome: `outage: ${during}; ${ids.size} tasks acked, ${t.completed} completed; ${crashed.length ? `crashed: ${crashed.join(', ')}` : 'no process crashed'}`,
        lost: lostOf(t, ids.size, ids.size),
        duplicates: `${t.ranTwice} ran twice`,
        fiveXX: `${all5xx} (${Object.values(load.tallies).reduce((n, x) => n + x.bad5xx, 0)} not 503+Retry-After)`,
        recovery: recovery < 0 ? 'not recovered' : secs(recovery),
      },
    ] as Row[],
  };
}

const ping = (i: number) => ({ model: 'mock/default', messages: [{ role: 'user', content: `ping ${i}` }] });

/** 3. Redis stopped: a fail-open tenant is served unmetered, a fail-closed one gets 503; health amber. */
export async function stopRedis(fleet: Fleet, s: Sizes) {
  const deadline = Date.now() + s.redisOutageMs + s.settleMs;
  const keys: Record<string, string> = {};
  for (const name of ['open', 'closed']) {
    const r = await fleet.request('POST', '/v1/tenants', { body: { name } });
    keys[name] = r.body?.admin_key?.secret ?? '';
  }
  const tallies = {
    open: { before: new Tally(), during: new Tally(), after: new Tally() },
    closed: { before: new Tally(), during: new Tally(), after: new Tally() },
  };
  let phase: 'before' | 'during' | 'after' = 'before';
  let stop = false;
  const call = (tenant: 'open' | 'closed') => async () => {
    for (let i = 0; i < 10_000 && !stop && Date.now() < deadline; i++) {
      const r = await fleet.request('POST', '/v1/chat/completions', { key: keys[tenant], body: ping(i) });
      tallies[tenant][phase].add(r);
      await sleep(300); // ~3 calls/s per tenant for well under a minute: under its 200/min limit
    }
  };
  const loops = Promise.all([call('open')(), call('closed')()]);
  await sleep(s.calmMs);
  phase = 'during';
  await fleet.redis.stop();
  const stoppedAt = Date.now();
  let amber = '';
  while (Date.now() < stoppedAt + s.redisOutageMs) {
    const h = await fleet.request('GET', '/health');
    if (h.body?.overall === 'amber' && !amber) amber = `amber after ${secs(Date.now() - stoppedAt)}`;
    await sleep(250);
  }
  await fleet.redis.start();
  const back = Date.now();
  phase = 'after';
  let green = -1;
  while (Date.now() < deadline && green < 0) {
    const hs = await Promise.all(fleet.http().map((via) => fleet.request('GET', '/health', { via })));
    if (hs.every((h) => h.body?.overall === 'green')) green = Date.now() - back;
    else await sleep(100);
  }
  const served = await untilAllAnswer(fleet, ['POST', '/v1/chat/completions'], back, deadline, {
    key: keys.closed,
    body: ping(-1),
  });
  await sleep(s.calmMs);
  stop = true;
  await loops;
  const refused = (t: Tally) => t.get('503 store_unavailable');
  const { open, closed } = tallies;
  return {
    tallies,
    amber,
    greenMs: green,
    rows: [
      {
        scenario: '3. Redis down',
        done: `stopped ${secs(s.redisOutageMs)}; 2 tenants calling models`,
        outcome:
          `fail-open: ${open.during.get('200')}/${open.during.total} served; ` +
          `fail-closed: ${refused(closed.during)}/${closed.during.total} refused 503 ` +
          `(the rest from leases held); health ${amber || 'never amber'}`,
        lost: 0,
        duplicates: '-',
        fiveXX: `${closed.during.fiveXX + open.during.fiveXX} (${closed.during.bad5xx + open.during.bad5xx + open.during.fiveXX} unexpected)`,
        recovery:
          green < 0 ? 'health not green' : `green in ${secs(green)}; API ${secs(Math.max(served, 0))}`,
      },
    ] as Row[],
  };
}

interface Receiver {
  port: number;
  deliveries: Map<string, number>;
  badSignatures: number;
  lastAt: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The customer's webhook endpoint: a real HTTP server on loopback that checks every signature. */
async function receiver(secret: string): Promise<Receiver> {
  const port = await closedPort();
  let server: Server | undefined;
  const r: Receiver = {
    port,
    deliveries: new Map(),
    badSignatures: 0,
    lastAt: 0,
    start: () =>
      new Promise((resolve) => {
        server = createServer((req, res) => {
          let body = '';
          req.on('data', (c) => {
            body += c;
          });
          req.on('end', () => {
            if (!verify(secret, body, String(req.headers['agentry-signature'] ?? ''))) r.badSignatures++;
            const id = JSON.parse(body).id as string;
            r.deliveries.set(id, (r.deliveries.get(id) ?? 0) + 1);
            r.lastAt = Date.now();
            res.writeHead(204).end();
          });
        });
        server.listen(port, '127.0.0.1', () => resolve());
      }),
    stop: () =>
      new Promise((resolve) => {
        server?.closeAllConnections();
        server?.close(() => resolve());
      }),
  };
  return r;
}

/** 4. The callback receiver is down while tasks complete; deliveries are retried until it is back. */
export async function receiverDown(fleet: Fleet, agents: Agents, s: Sizes) {
  const deadline = Date.now() + s.receiverDownMs + s.settleMs;
  const { secret } = await fleet.must('GET', '/v1/tasks/callback-secret');
  const hook = await receiver(secret);
  // Down from the start: nothing listens on its port until it comes back.
  const e = await enqueue(fleet, agents.worker, 'hook', s.callbacks, {
    deadline,
    callbackUrl: `http://127.0.0.1:${hook.port}/hook`,
  });
  await sleep(s.receiverDownMs);
  await hook.start();
  const back = Date.now();
  const ids = [...e.ids];
  while (Date.now() < deadline && ids.some((id) => !hook.deliveries.has(id))) await sleep(200);
  const delivered = ids.filter((id) => hook.deliveries.has(id)).length;
  const recovery = hook.lastAt - back;
  await sleep(1000); // a duplicate would show up now
  await hook.stop();
  const duplicates = [...hook.deliveries.values()].reduce((n, c) => n + c - 1, 0);
  const { rows } = await fleet.db.query(
    `select min(callback_attempts)::int as lo, max(callback_attempts)::int as hi,
            percentile_disc(0.5) within group (order by callback_attempts)::int as mid
     from tasks where id = any($1)`,
    [ids],
  );
  const a = rows[0];
  return {
    delivered,
    ids,
    duplicates,
    badSignatures: hook.badSignatures,
    rows: [
      {
        scenario: '4. callback receiver down',
        done: `down ${secs(s.receiverDownMs)}; ${s.callbacks} tasks with callbacks`,
        outcome: `${delivered}/${ids.length} delivered, ${hook.badSignatures} bad signatures; attempts per callback ${a.lo}-${a.hi} (median ${a.mid})`,
        lost: ids.length - delivered + (s.callbacks - ids.length),
        duplicates: `${duplicates} delivered twice`,
        fiveXX: String(e.tally.fiveXX),
        recovery: delivered === ids.length ? `all in ${secs(recovery)}` : 'not all delivered',
      },
    ] as Row[],
  };
}

/** 5. A deploy: every process stopped (SIGTERM) and started again, one at a time, under load. */
export async function rollingRestart(fleet: Fleet, agents: Agents, s: Sizes) {
  const deadline = Date.now() + s.settleMs * 2;
  const load = backgroundLoad(fleet, agents.worker, 'deploy', deadline);
  const followed: Promise<Followed>[] = [];
  const stops: string[] = [];
  /** Each process's exit code after its SIGTERM: a graceful stop exits 0. */
  const exits: Array<{ name: string; code: number | null; signal: string | null }> = [];
  const order = [...fleet.procs];
  const started = Date.now();
  for (const proc of order) {
    // A run on the process about to stop, in flight when it does: its stream must go on elsewhere.
    if (proc.role !== 'worker')
      followed.push((await startNamed(fleet, agents.stepper, proc, deadline)).follow);
    else await sleep(1000);
    const t = Date.now();
    await fleet.stop(proc);
    stops.push(`${secs(Date.now() - t)} exit ${proc.child.exitCode}`);
    exits.push({ name: proc.name, code: proc.child.exitCode, signal: proc.child.signalCode });
    await fleet.launch(proc.role, proc.name);
  }
  const rolledMs = Date.now() - started;
  await sleep(1000);
  const ids = await load.finish();
  const t = await settle(fleet, ids, deadline);
  const runs = await Promise.all(followed);
  const ran = await runOutcomes(
    fleet,
    runs.flatMap((r) => (r.runId ? [r.runId] : [])),
  );
  const streams = await streamsExact(fleet, runs);
  const again = await redone(fleet, runs);
  const tally = load.tallies.before;
  return {
    tasks: t,
    tally,
    runs: ran,
    followed: runs,
    streams,
    redone: again,
    stops,
    exits,
    rows: [
      {
        scenario: '5. rolling restart',
        done: `${order.length} processes SIGTERMed + started one by one (${secs(rolledMs)})`,
        outcome: `${t.completed}/${ids.size} tasks completed; graceful stops: ${stops.join(', ')}`,
        lost: lostOf(t, ids.size, ids.size),
        duplicates: `${t.ranTwice} ran twice`,
        fiveXX: `${tally.fiveXX} (${tally.get('no answer')} unanswered)`,
        recovery: '-',
      },
      {
        scenario: '5. … runs meanwhile',
        done: `${runs.length} runs, each on a process as it stops`,
        outcome: `${describeCounts(ran)}; ${takeovers(again)}; ${sentAgain(runs)} chats refused sent elsewhere, ${notStarted(runs)} never began; streams: ${runs.filter((r) => r.connections > 1).length} resumed on another process, ${streams.exact} exact, ${streams.inexact} with a gap or repeat`,
        lost: runsLost(runs),
        duplicates: redoneCell(again),
        fiveXX: '-',
        recovery: '-',
      },
    ] as Row[],
  };
}

/** The figures as a plain text table. */
export function table(rows: Row[]): string {
  const head: Row = {
    scenario: 'scenario',
    done: 'what was done',
    outcome: 'outcome',
    lost: 'lost' as unknown as number,
    duplicates: 'duplicates',
    fiveXX: '5xx',
    recovery: 'recovery',
  };
  const cols = Object.keys(head) as (keyof Row)[];
  const all = [head, ...rows];
  const width = cols.map((c) => Math.max(...all.map((r) => String(r[c]).length)));
  const line = (r: Row) => `| ${cols.map((c, i) => String(r[c]).padEnd(width[i]!)).join(' | ')} |`;
  return [line(head), `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
