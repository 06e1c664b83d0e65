/**
 * What storing a version adds to an agent PATCH. Three ways of making the same change (a new
 * description, the version bumped) to an agent with a 4 KB system prompt, in rounds that alternate
 * so drift hits all alike, one at a time, on PGlite and (with DATABASE_URL) PostgreSQL:
 *   versioned  AgentService.update as the API calls it: the update and its version in one
 *              statement, and the journal row, in one transaction;
 *   unversioned the same transaction as it was before versions: the update and the journal row;
 *   floor      the bare UPDATE statement alone.
 * Then, for scale, the whole PATCH as clients send it (HTTP, auth, checks), through the real server:
 * what the version adds to it is estimated as the in-process difference above, so
 * `api ratio` = PATCH / (PATCH − (versioned − unversioned)).
 * Prints ms per change, versioned / unversioned and the API ratio (target ≤ 1.1×), and a JSON line.
 *
 *   node --import tsx bench/versions.ts [--quick] [--rounds 8] [--per-round 50]
 */
import { parseArgs } from 'node:util';
import { AgentService } from '../src/agents/agents.ts';
import { TemplateService } from '../src/agents/templates.ts';
import type { Db } from '../src/db/db.ts';
import { newId } from '../src/db/ids.ts';
import { migrate } from '../src/db/migrate.ts';
import { PgliteDb } from '../src/db/pglite.ts';
import { PostgresDb } from '../src/db/postgres.ts';
import { type Actor, writeJournal } from '../src/events/journal.ts';
import { freshDatabase, startServer } from '../test/helpers/server.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '8' },
    'per-round': { type: 'string', default: '50' },
  },
});
const rounds = values.quick ? 4 : Number(values.rounds);
const perRound = values.quick ? 25 : Number(values['per-round']);

type Variant = 'versioned' | 'unversioned' | 'floor';

async function measure(kind: 'pglite' | 'postgres') {
  const fresh = kind === 'postgres' ? await freshDatabase() : undefined;
  const db: Db = fresh ? await PostgresDb.open(fresh.url, { max: 4 }) : await PgliteDb.open('memory://');
  try {
    await migrate(db);
    const tenantId = newId();
    await db.query('insert into tenants (id, name) values ($1, $2)', [tenantId, `b-${tenantId.slice(-6)}`]);
    const who: Actor = { tenantId, actor: 'key:bench' };
    const agents = new AgentService(db, new TemplateService(db), 'mock/default');
    const prompt = 'You are a careful assistant. Answer briefly and cite your sources.\n'.repeat(60);
    const ids: Record<Variant, string> = {
      versioned: (
        await agents.create(tenantId, { name: 'v', system_prompt: prompt, tools: ['calculator'] }, who)
      ).id,
      unversioned: (
        await agents.create(tenantId, { name: 'u', system_prompt: prompt, tools: ['calculator'] }, who)
      ).id,
      floor: (await agents.create(tenantId, { name: 'f', system_prompt: prompt, tools: ['calculator'] }, who))
        .id,
    };
    let n = 0;
    const change: Record<Variant, () => Promise<unknown>> = {
      versioned: () => agents.update(tenantId, ids.versioned, { description: `d${n++}` }, who),
      // AgentService.update's transaction before versions were kept (same statements, same journal row).
      unversioned: () =>
        db.transaction(async (tx) => {
          const [row] = await tx.query(
            `update agents set description = $3, version = version + 1, updated_at = now()
             where tenant_id = $1 and id = $2 returning *`,
            [tenantId, ids.unversioned, `d${n++}`],
          );
          await writeJournal(tx, who, {
            action: 'agent.update',
            target: ids.unversioned,
            data: { fields: ['description'] },
          });
          return row;
        }),
      floor: () =>
        db.query(
          `update agents set description = $3, version = version + 1, updated_at = now()
           where tenant_id = $1 and id = $2 returning *`,
          [tenantId, ids.floor, `d${n++}`],
        ),
    };
    const spent: Record<Variant, number> = { versioned: 0, unversioned: 0, floor: 0 };
    for (const v of Object.keys(change) as Variant[]) for (let i = 0; i < 20; i++) await change[v](); // warm-up
    for (let r = 0; r < rounds; r++) {
      // Each round in another order, so no variant always runs first.
      const order = (['versioned', 'unversioned', 'floor'] as Variant[]).sort(() => (r % 2 ? 1 : -1));
      for (const v of order) {
        const t0 = performance.now();
        for (let i = 0; i < perRound; i++) await change[v]();
        spent[v] += performance.now() - t0;
      }
    }
    const [versions] = await db.query<{ n: number }>(
      'select count(*)::int as n from agent_versions where agent_id = $1',
      [ids.versioned],
    );
    const per = (v: Variant) => spent[v] / (rounds * perRound);
    return {
      store: kind,
      changes: rounds * perRound,
      versions_kept: versions!.n,
      'versioned ms': round(per('versioned')),
      'unversioned ms': round(per('unversioned')),
      'floor ms': round(per('floor')),
      'versioned / unversioned': round(per('versioned') / per('unversioned')),
      'versioned / floor': round(per('versioned') / per('floor')),
    };
  } finally {
    await db.close();
    await fresh?.drop();
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** ms per PATCH /v1/agents/:id through the real server, one at a time. */
async function apiPatch(kind: 'pglite' | 'postgres'): Promise<number> {
  const s = await startServer(kind, { tasks: { workers: 0 } });
  try {
    const prompt = 'You are a careful assistant. Answer briefly and cite your sources.\n'.repeat(60);
    const made = await s.request('POST', '/v1/agents', { body: { name: 'api', system_prompt: prompt } });
    const patch = (i: number) =>
      s.request('PATCH', `/v1/agents/${made.body.id}`, { body: { description: `d${i}` } });
    for (let i = 0; i < 20; i++) await patch(i);
    const n = rounds * perRound;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await patch(i);
    return (performance.now() - t0) / n;
  } finally {
    await s.close();
  }
}

const rows = [];
for (const kind of process.env.DATABASE_URL ? (['pglite', 'postgres'] as const) : (['pglite'] as const)) {
  const row = await measure(kind);
  const api = await apiPatch(kind);
  const added = row['versioned ms'] - row['unversioned ms'];
  rows.push({ ...row, 'API PATCH ms': round(api), 'api ratio': round(api / (api - added)) });
}
console.table(rows);
console.log(
  JSON.stringify({
    bench: 'versions',
    ...Object.fromEntries(
      rows.flatMap((r) => [
        [`patch_versioned_vs_unversioned_${r.store}`, r['versioned / unversioned']],
        [`api_patch_with_version_vs_without_${r.store}`, r['api ratio']],
      ]),
    ),
  }),
);
