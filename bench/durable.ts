/**
 * Durable runs benchmark (docs/durability.md), both figures in one run:
 *
 * 1. Step recording's cost: chat turns (no tools, and a tool turn: two model calls and a calculator
 *    call) with each step recorded (`runtime.record_each_step`, the default) against the floor, the
 *    previous path that writes a round once all of it has ended. Mock model at zero delay, so all
 *    that is measured is Agentry's own; the two apps take turns in blocks so drift hits both.
 * 2. Takeover start after a SIGKILL (PostgreSQL only): a server process running a run is killed;
 *    the time until this process, on the same database, has taken the run over (its `run_resumed`
 *    event), against the lease.
 *
 *   node --import tsx bench/durable.ts [--turns 600] [--kills 5] [--lease 2]
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres for part 2 and the PostgreSQL rows.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchApp, counted, countStatements, quantile, r3, tsLoaderArgs } from './bench-app.ts';

const { values: args } = parseArgs({
  options: {
    turns: { type: 'string', default: '600' },
    kills: { type: 'string', default: '5' },
    lease: { type: 'string', default: '2' },
    server: { type: 'string' },
  },
});
const self = fileURLToPath(import.meta.url);
const stuck = { mock: { scripts: { stuck: [{ content: 'late', delay_ms: 600_000 }] } } };

if (args.server) {
  // Part 2's victim: a server on the given database whose run's model call never answers.
  const { createApp } = await import('../src/app.ts');
  const { testConfig } = await import('../src/config/config.ts');
  const app = await createApp(
    testConfig({
      log_level: 'silent',
      store: { database_url: args.server },
      runtime: { lease_seconds: Number(args.lease) },
      models: stuck,
    }),
  );
  const { tenantId } = { tenantId: app.defaultTenantId };
  const agent = await app.services.agents.create(
    tenantId,
    { name: `victim-${process.pid}`, model: 'mock/stuck' },
    { tenantId, actor: 'bench' },
  );
  const h = await app.services.runtime.run({ tenantId, tenantName: 'default' }, agent.id, {
    message: 'take your time',
    stream: true,
    multitask: 'reject',
    on_disconnect: 'continue',
  });
  process.send!({ runId: h.runId });
} else {
  const turns = Number(args.turns);
  for (const store of ['pglite', ...(process.env.DATABASE_URL ? ['postgres' as const] : [])] as const) {
    const apps = await Promise.all(
      [true, false].map((record) =>
        benchApp(store, { runtime: { record_each_step: record, workspaces_dir: '/tmp/agentry-bench-ws' } }),
      ),
    );
    for (const { app } of apps) countStatements(app.services.db as never);
    const caller = (i: number) => ({ tenantId: apps[i]!.app.defaultTenantId, tenantName: 'default' });
    const agents = await Promise.all(
      apps.map(({ app }, i) =>
        Promise.all(
          [[], ['calculator']].map((tools) =>
            app.services.agents.create(
              caller(i).tenantId,
              { name: `b${tools.length}`, tools },
              { tenantId: caller(i).tenantId, actor: 'bench' },
            ),
          ),
        ),
      ),
    );
    const turn = async (i: number, tools: 0 | 1) => {
      const h = await apps[i]!.app.services.runtime.run(caller(i), agents[i]![tools]!.id, {
        message: tools ? 'use the calculator tool: 2+2' : 'hello there',
        stream: false,
        multitask: 'reject',
        on_disconnect: 'continue',
      });
      if ((await h.result()).status !== 'completed') throw new Error('turn failed');
    };
    for (const tools of [0, 1] as const) {
      const xs: number[][] = [[], []];
      const statements = [0, 0];
      // Blocks of 10 turns, taking turns, so the machine's drift hits both; two blocks warm up.
      for (let block = 0; block < turns / 10 + 2; block++) {
        for (const i of [0, 1]) {
          const before = counted.statements;
          for (let k = 0; k < 10; k++) {
            const t0 = performance.now();
            await turn(i, tools);
            if (block >= 2) xs[i]!.push(performance.now() - t0);
          }
          if (block >= 2) statements[i]! += counted.statements - before;
        }
      }
      const [rec, floor] = xs.map((x) => quantile(x, 0.5));
      const [sRec, sFloor] = statements.map((n, i) => r3(n / xs[i]!.length));
      console.log(
        `${store} ${tools ? 'tool turn' : 'chat turn'}: p50 ${r3(rec!)} ms recorded, ${r3(floor!)} ms floor (round at once); ` +
          `ratio ${r3(rec! / floor!)} (target ≤ 1.15); statements per turn ${sRec} vs ${sFloor}`,
      );
    }
    for (const a of apps) await a.close();
  }

  if (process.env.DATABASE_URL) {
    const lease = Number(args.lease);
    const { freshDatabase } = await import('../test/helpers/server.ts');
    const db = await freshDatabase();
    const { createApp } = await import('../src/app.ts');
    const { testConfig } = await import('../src/config/config.ts');
    const taker = await createApp(
      testConfig({
        log_level: 'silent',
        store: { database_url: db.url },
        runtime: { lease_seconds: lease },
        models: { mock: { scripts: { stuck: [{ content: 'taken over' }] } } },
      }),
    );
    const delays: number[] = [];
    for (let k = 0; k < Number(args.kills); k++) {
      const child = fork(self, ['--server', db.url, '--lease', String(lease)], { execArgv: tsLoaderArgs });
      const { runId } = await new Promise<{ runId: string }>((resolve) =>
        child.once('message', resolve as never),
      );
      await new Promise((r) => setTimeout(r, 200));
      child.kill('SIGKILL');
      const killedAt = Date.now();
      await new Promise((r) => child.once('exit', r));
      for (let i = 0; i < 400; i++) {
        const [row] = await taker.services.db.query<{ at: Date }>(
          `select at from events where stream_id = $1 and type = 'run_resumed'`,
          [runId],
        );
        if (row) {
          delays.push(row.at.getTime() - killedAt);
          break;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    const worst = Math.max(...delays);
    console.log(
      `takeover after SIGKILL, lease ${lease} s: p50 ${r3(quantile(delays, 0.5) / 1000)} s, max ${r3(worst / 1000)} s over ${delays.length} kills; ` +
        `max − lease ${r3(worst / 1000 - lease)} s (target ≤ 1 s)`,
    );
    await taker.close();
    await db.drop();
  }
}
