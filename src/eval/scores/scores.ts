import { z } from 'zod';
import type { Db } from '../../db/db.ts';
import { newId } from '../../db/ids.ts';
import { iso } from '../../db/iso.ts';
import { notFound } from '../../errors.ts';
import type { Actor } from '../../events/journal.ts';

/** The API shapes of scores on runs: from people, evaluators or API clients. */

export const scoreSources = ['human', 'evaluator', 'api'] as const;

export const newScoreBody = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, 'letters, digits, ".", "_", ":" and "-"'),
    value: z.number().finite(),
    comment: z.string().max(10_000).optional(),
    source: z.enum(scoreSources).default('api'),
  })
  .strict();
export type NewScore = z.infer<typeof newScoreBody>;

export const scoreSchema = z.object({
  id: z.uuid(),
  run_id: z.uuid(),
  name: z.string(),
  value: z.number(),
  comment: z.string().nullable(),
  source: z.enum(scoreSources),
  experiment_id: z.uuid().nullable(),
  created_by: z.string().nullable(),
  created_at: z.string(),
});
export type Score = z.infer<typeof scoreSchema>;

interface ScoreRow extends Omit<Score, 'created_at' | 'value'> {
  value: number | string;
  created_at: Date;
}

const toScore = (r: ScoreRow): Score => ({ ...r, value: Number(r.value), created_at: iso(r.created_at)! });

/** Scores attached to runs; GET /v1/runs filters by them (`score_name`, `score_min`, `score_max`). */
export class ScoreService {
  constructor(private readonly db: Db) {}

  async add(tenantId: string, runId: string, input: NewScore, who: Actor): Promise<Score> {
    const [row] = await this.db.query<ScoreRow>(
      `insert into scores (id, tenant_id, run_id, name, value, comment, source, created_by)
       select $1, $2, r.id, $4, $5, $6, $7, $8 from runs r where r.tenant_id = $2 and r.id = $3
       returning *`,
      [newId(), tenantId, runId, input.name, input.value, input.comment ?? null, input.source, who.actor],
    );
    if (!row) throw notFound('run', runId);
    return toScore(row);
  }

  async list(tenantId: string, runId: string): Promise<Score[]> {
    const [run] = await this.db.query('select 1 from runs where tenant_id = $1 and id = $2', [
      tenantId,
      runId,
    ]);
    if (!run) throw notFound('run', runId);
    const rows = await this.db.query<ScoreRow>(
      'select * from scores where tenant_id = $1 and run_id = $2 order by id',
      [tenantId, runId],
    );
    return rows.map(toScore);
  }
}
