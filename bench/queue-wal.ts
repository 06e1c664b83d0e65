/**
 * Where the queue's WAL goes: one drain of Agentry's worker on a cluster of the bench's own, its WAL
 * records grouped by resource manager, record type and relation (`pg_walinspect`), per task. The
 * tasks are enqueued after a checkpoint, as in `bench/queue.ts`, so the drain's figures carry no
 * full-page images of the enqueued rows.
 *
 *   node --import tsx bench/queue-wal.ts [--tasks 20000] [--retention keep|delete]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startCluster } from '../test/helpers/pg-cluster.ts';
import { agentry } from './queue-contenders.ts';

const { values: args } = parseArgs({
  options: { tasks: { type: 'string', default: '20000' }, retention: { type: 'string', default: 'keep' } },
});
const N = Number(args.tasks);
if (args.retention !== 'keep' && args.retention !== 'delete')
  throw new Error(`--retention: keep or delete, not ${args.retention}`);

const cluster = await startCluster(undefined, {
  fsync: 'off',
  max_connections: '200',
  checkpoint_timeout: '1h',
  max_wal_size: '20GB',
});
const queue = await agentry({ base: cluster.url, concurrency: 24, pool: 25, batch: 500 }, args.retention);
const url = new URL(cluster.url);
url.pathname = `/${queue.database}`;
const client = new pg.Client({ connectionString: url.toString() });
await client.connect();
await client.query('create extension if not exists pg_walinspect');
await client.query('checkpoint');
for (let i = 0; i < N; i += 1000) await queue.bulk(Math.min(1000, N - i));
const lsn = async () =>
  (await client.query<{ lsn: string }>('select pg_current_wal_lsn() as lsn')).rows[0]!.lsn;
const start = await lsn();
await queue.start(() => {});
while (queue.handled() < N) await sleep(2);
while (await queue.unfinished()) await sleep(1);
const end = await lsn();
// The worker's statements commit asynchronously: read the records once they are flushed.
while (!(await client.query('select pg_current_wal_flush_lsn() >= $1 as ok', [end])).rows[0].ok)
  await sleep(10);
const { rows } = await client.query(
  `with r as (
     select resource_manager as rm, record_type as record, record_length as bytes,
            substring(block_ref from 'rel \\d+/\\d+/(\\d+)') as node
     from pg_get_wal_records_info($1, $2)
   )
   select rm, record, coalesce(c.relname, r.node, '') as relation, count(*)::int as records,
          round(sum(bytes)::numeric / $3, 1)::float8 as bytes_per_task
   from r left join pg_class c on c.relfilenode::text = r.node
   group by 1, 2, 3 having sum(bytes) >= $3 order by sum(bytes) desc`,
  [start, end, N],
);
console.table(rows);
const total = (await client.query('select pg_wal_lsn_diff($2, $1)::float8 as b', [start, end])).rows[0].b;
console.log(`drain WAL per task: ${(total / N).toFixed(0)} B over ${N} tasks`);
await client.end();
await queue.stop();
cluster.remove();
process.exit(0);
