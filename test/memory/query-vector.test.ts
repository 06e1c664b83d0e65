import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PgliteDb } from '../../src/db/pglite.ts';
import { queryVectorParam } from '../../src/memory/vectors.ts';
import { openTestPglite } from '../helpers/pglite-snapshot.ts';

// Searches bind the query vector as scaled integers (`int[]`, cast to `vector` in SQL) because
// PGlite parses integers far faster than floats. Cosine distance must not notice.
describe('query vector parameter', () => {
  it('scales the largest component to ±2^20 and rounds the rest', () => {
    assert.equal(queryVectorParam([0.5, -0.25, 0, 0.1]), '{1048576,-524288,0,209715}');
    assert.equal(queryVectorParam([-2, 1]), '{-1048576,524288}');
    assert.equal(queryVectorParam([0, 0]), '{0,0}');
  });

  describe('on pgvector', () => {
    let db: PgliteDb;
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff - 0.5;
    };
    const vec = () => Array.from({ length: 16 }, rand);
    before(async () => {
      db = await openTestPglite();
      await db.exec(
        'create extension if not exists vector; create table v (id int primary key, e vector(16))',
      );
      for (let i = 0; i < 200; i++)
        await db.query('insert into v values ($1, $2)', [i, `[${vec().join(',')}]`]);
    });
    after(() => db.close());

    it('ranks and measures as the float vector does', async () => {
      for (let n = 0; n < 20; n++) {
        const q = vec();
        const byFloat = await db.query<{ id: number; d: number }>(
          'select id, e <=> $1::vector(16) as d from v order by d, id',
          [`[${q.join(',')}]`],
        );
        const byInt = await db.query<{ id: number; d: number }>(
          'select id, e <=> $1::int[]::vector(16) as d from v order by d, id',
          [queryVectorParam(q)],
        );
        for (let i = 0; i < byFloat.length; i++) assert.ok(Math.abs(byFloat[i]!.d - byInt[i]!.d) < 1e-5);
        // Ties within the rounding aside, the order is the same.
        const top = (rows: { id: number }[]) => rows.slice(0, 10).map((r) => r.id);
        assert.deepEqual(top(byInt), top(byFloat));
      }
    });
  });
});
