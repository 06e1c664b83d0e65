import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { opsTeamTemplates } from '../../src/agents/packs-ops-team.ts';
import { runCli, type Spawned, startServe, tempDir } from '../cli/run-cli.ts';
import { freshDatabase, stores } from '../helpers/server.ts';

/** Every (agent, task type) pair of the operations team, as the templates declare them. */
const pairs = opsTeamTemplates.flatMap((t) =>
  t.task_types.map((type) => ({ agent: (t.metadata as { agent_name: string }).agent_name, type: type.name })),
);

/** Runs `fn` over `items`, a few at a time (each is a CLI process; the machine is shared). */
async function inBatches<T, R>(items: T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size)
    out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

for (const store of stores) {
  // A real `agentry serve` with no settings about the team: what a fresh install gets out of the box.
  describe(`operations team out of the box, agentry serve on ${store}`, { timeout: 600_000 }, () => {
    const tmp = tempDir('agentry-ops-');
    let server: Spawned | undefined;
    let drop = async () => {};

    before(async () => {
      writeFileSync(path.join(tmp.dir, 'agentry.yaml'), 'server:\n  shutdown_grace_seconds: 30\n');
      const env: Record<string, string> = {};
      if (store === 'postgres') {
        const db = await freshDatabase();
        drop = db.drop;
        env.DATABASE_URL = db.url;
      }
      server = await startServe([], { cwd: tmp.dir, env });
    });
    after(async () => {
      await server?.stop();
      await drop();
      tmp.remove();
    });

    it('agentry create-task accepts every task type of each of the six agents', async () => {
      assert.equal(pairs.length, 12);
      const results = await inBatches(pairs, 4, async ({ agent, type }) => {
        const r = await runCli(
          ['create-task', '--agent', agent, '--type', type, '--title', `${type} for ${agent}`, '--json'],
          { cwd: tmp.dir },
        );
        return { agent, type, r };
      });
      for (const { agent, type, r } of results) {
        assert.equal(r.code, 0, `${agent} ${type}: ${r.stderr}`);
        const task = JSON.parse(r.stdout);
        assert.equal(task.task_type, type);
        assert.match(task.status, /^(pending|in_progress|completed)$/);
      }
    });

    it('and rejects a task type the agent does not declare', async () => {
      const agents = [...new Set(pairs.map((p) => p.agent))];
      const results = await inBatches(agents, 3, async (agent) => {
        // Another member's task type: declared in the team, not by this agent.
        const foreign = pairs.find((p) => p.agent !== agent)!.type;
        return {
          agent,
          r: await runCli(['create-task', '--agent', agent, '--type', foreign, '--title', 'x'], {
            cwd: tmp.dir,
          }),
        };
      });
      for (const { agent, r } of results) {
        const own = pairs.filter((p) => p.agent === agent).map((p) => p.type);
        assert.equal(r.code, 1, `${agent}: ${r.stdout}`);
        assert.match(
          r.stderr,
          new RegExp(`agent ${agent} has no task type ".+"; allowed: ${own.join(', ')}`),
        );
      }
    });
  });
}
