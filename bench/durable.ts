/**
 * Durable runs (docs/durability.md). 1. Step recording's cost: chat turns, plain and with a calculator
 * call, recording each step (`runtime.record_each_step`, the default) against the floor that writes a
 * round once it has ended, in alternating blocks of 10; target ≤ 1.15× p50. 2. Takeover after SIGKILL
 * (PostgreSQL): the time until this process has taken a killed server's run over; target ≤ lease + 1 s.
 *
 *   node --import tsx bench/durable.ts [--quick] [--turns 600] [--kills 5] [--lease 2]   (DATABASE_URL: part 2, PG rows)
 */
import { parseArgs } from 'node:util';
import type { ConfigInput } from '../src/config/config.ts';
import { agentOf, benchApp, callerOf, forkChild, quantile, r3, turn, turnOpts } from './bench-app.ts';

const { values: args } = parseArgs({
  options: {
    turns: { type: 'string' },
    kills: { type: 'string' },
    quick: { type: 'boolean', default: false },
    lease: { type: 'string', default: '2' },
    server: { type: 'string' },
  },
});
const lease = Number(args.lease);
const turns = Number(args.turns ?? (args.quick ? 100 : 600));
const kills = Number(args.kills ?? (args.quick ? 2 : 5));
const ratios: Record<string, number> = {};
const figures: Record<string, number> = {};
const appOn = async (databaseUrl: string, models: ConfigInput['models']) => {
  const { createApp } = await import('../src/app.ts');
  const { testConfig } = await import('../src/config/config.ts');
  const store = { database_url: databaseUrl };
  return createApp(testConfig({ log_level: 'silent', store, runtime: { lease_seconds: lease }, models }));
};

if (args.server) {
  // Part 2's victim: its run's model call never answers.
  const app = await appOn(args.server, {
    mock: { scripts: { stuck: [{ content: 'late', delay_ms: 600_000 }] } },
  });
  const agent = await agentOf(app, { name: `victim-${process.pid}`, model: 'mock/stuck' });
  const h = await app.services.runtime.run(callerOf(app), agent.id, turnOpts('take your time', true));
  process.send!({ runId: h.runId });
} else {
  for (const store of ['pglite', ...(process.env.DATABASE_URL ? ['postgres' as const] : [])] as const) {
    const apps = await Promise.all(
      [true, false].map((record_each_step) => benchApp(store, { runtime: { record_each_step } })),
    );
    const agents = await Promise.all(
      apps.map(({ app }) =>
        Promise.all([[], ['calculator']].map((tools) => agentOf(app, { name: `b${tools.length}`, tools }))),
      ),
    );
    const message = ['hello there', 'use the calculator tool: 2+2'];
    for (const tools of [0, 1] as const) {
      const xs: number[][] = [[], []];
      // Two blocks warm up.
      for (let block = 0; block < turns / 10 + 2; block++) {
        for (const i of [0, 1]) {
          for (let k = 0; k < 10; k++) {
            const t0 = performance.now();
            await turn(apps[i]!.app, agents[i]![tools]!.id, message[tools]!);
            if (block >= 2) xs[i]!.push(performance.now() - t0);
          }
        }
      }
      const [rec, floor] = xs.map((x) => quantile(x, 0.5)) as [number, number];
      ratios[`${tools ? 'tool_turn' : 'chat_turn'}_${store}_recorded_vs_floor`] = r3(rec / floor);
      console.log(
        `${store} ${tools ? 'tool turn' : 'chat turn'}: p50 ${r3(rec)} ms recorded, ${r3(floor)} ms floor (round at once); ` +
          `ratio ${r3(rec / floor)} (target ≤ 1.15)`,
      );
    }
    for (const a of apps) await a.close();
  }

  if (process.env.DATABASE_URL) {
    const { freshDatabase } = await import('../test/helpers/server.ts');
    const db = await freshDatabase();
    const taker = await appOn(db.url, { mock: { scripts: { stuck: [{ content: 'taken over' }] } } });
    const delays: number[] = [];
    for (let k = 0; k < kills; k++) {
      const victim = ['--server', db.url, '--lease', String(lease)];
      const { child, runId } = await forkChild<{ runId: string }>(import.meta.url, victim);
      await new Promise((r) => setTimeout(r, 200));
      child.kill('SIGKILL');
      const killedAt = Date.now();
      await new Promise((r) => child.once('exit', r));
      for (let i = 0; i < 400 && delays.length === k; i++) {
        const [row] = await taker.db.query<{ at: Date }>(
          `select at from events where stream_id = $1 and type = 'run_resumed'`,
          [runId],
        );
        if (row) delays.push(row.at.getTime() - killedAt);
        else await new Promise((r) => setTimeout(r, 25));
      }
    }
    const worst = Math.max(...delays) / 1000;
    figures.takeover_max_over_lease_s = r3(worst - lease);
    console.log(
      `takeover after SIGKILL, lease ${lease} s: p50 ${r3(quantile(delays, 0.5) / 1000)} s, max ${r3(worst)} s over ${delays.length} kills; ` +
        `max − lease ${r3(worst - lease)} s (target ≤ 1 s)`,
    );
    await taker.close();
    await db.drop();
  }
  console.log(JSON.stringify({ bench: 'durable', turns, ratios, figures }));
}
