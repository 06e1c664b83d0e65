import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { freshDatabase } from './server.ts';

/**
 * A fresh database owned by a role allowed a single connection: the pool's one connection works,
 * so the start gets past opening and migrating the store, and the next connection (the LISTEN
 * connection the runtime opens when it starts) is refused with "too many connections". A start
 * that fails late, after Redis, the model gateway and the sandboxes are open.
 */
export async function oneConnectionDatabase(base = process.env.DATABASE_URL): Promise<{
  url: string;
  drop: () => Promise<void>;
}> {
  if (!base) throw new Error('DATABASE_URL is not set');
  const fresh = await freshDatabase(base);
  const role = `agentry_r_${randomBytes(6).toString('hex')}`;
  const database = new URL(fresh.url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create role ${role} login connection limit 1`);
  await admin.query(`alter database ${database} owner to ${role}`);
  await admin.end();
  const url = new URL(fresh.url);
  url.username = role;
  url.password = '';
  return {
    url: url.toString(),
    drop: async () => {
      await fresh.drop();
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`drop role if exists ${role}`);
      await c.end();
    },
  };
}
