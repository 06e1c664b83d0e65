import { z } from 'zod';
import type { Db, Queryable } from '../../db/db.ts';
import { newId } from '../../db/ids.ts';
import { iso } from '../../db/iso.ts';
import { AppError, isNotFound, notFound, pgCode } from '../../errors.ts';
import { type Actor, writeJournal } from '../../events/journal.ts';
import { type CheckedValue, checkValue } from './check.ts';
import { type ScoreConfig, scoreConfigRef, scoreName } from './config-schema.ts';
import type { ScoreConfigService } from './configs.ts';
import { type ScoreAuthor, scoreSources } from './source.ts';

/** The API shapes of scores on runs: from people, evaluators, API clients or end users. */

const scoreValue = z
  .union([z.number().finite(), z.boolean(), z.string().min(1).max(100)])
  .describe('a number; with a config, a category label (categorical) or true/false (boolean)');

export const newScoreBody = z
  .object({
    /** The score's name; with `config`, it defaults to the config's name (and may only be that). */
    name: scoreName.optional(),
    /**
     * The config the value is checked against, by id or name. None: the live config named as the
     * score, if there is one; otherwise any finite number goes.
     */
    config: scoreConfigRef.optional(),
    value: scoreValue,
    comment: z.string().max(10_000).optional(),
    /**
     * Set by the server from the credential. Sent, it must be what the credential gives (a 400
     * otherwise), so a client can never claim another source.
     */
    source: z.enum(scoreSources).optional(),
  })
  .strict();
export type NewScore = z.infer<typeof newScoreBody>;

export const scorePatch = z
  .object({
    value: scoreValue.optional(),
    /** null clears it. */
    comment: z.string().max(10_000).nullable().optional(),
  })
  .strict()
  .refine((p) => p.value !== undefined || p.comment !== undefined, 'send value, comment or both');
export type ScorePatch = z.infer<typeof scorePatch>;

export const scoreSchema = z.object({
  id: z.uuid(),
  run_id: z.uuid(),
  name: z.string(),
  /** The number: the value itself, a category's number, 1 or 0 for true or false. */
  value: z.number(),
  /** A categorical score's label, or "true"/"false" for a boolean one; null for a number. */
  label: z.string().nullable(),
  config_id: z.uuid().nullable(),
  comment: z.string().nullable(),
  source: z.enum(scoreSources),
  experiment_id: z.uuid().nullable(),
  /** The author: the credential's user (`user:<sub>`, a key's owner) or its key (`key:<id>`). */
  created_by: z.string().nullable(),
  created_at: z.string(),
  updated_by: z.string().nullable(),
  updated_at: z.string().nullable(),
});
export type Score = z.infer<typeof scoreSchema>;

/** A score as it was before an edit or its deletion, and who changed it when. */
export const scoreHistoryEntry = z.object({
  action: z.enum(['update', 'delete']),
  name: z.string(),
  value: z.number(),
  label: z.string().nullable(),
  comment: z.string().nullable(),
  changed_by: z.string(),
  changed_at: z.string(),
});
export type ScoreHistoryEntry = z.infer<typeof scoreHistoryEntry>;

interface ScoreRow extends Omit<Score, 'created_at' | 'updated_at' | 'value'> {
  value: number | string;
  created_at: Date;
  updated_at: Date | null;
}

interface HistoryRow extends Omit<ScoreHistoryEntry, 'changed_at' | 'value'> {
  value: number | string;
  changed_at: Date;
}

const scoreColumns =
  'id, run_id, name, value, label, config_id, comment, source, experiment_id, created_by, created_at, updated_by, updated_at';

const toScore = (r: ScoreRow): Score => ({
  ...r,
  value: Number(r.value),
  created_at: iso(r.created_at)!,
  updated_at: iso(r.updated_at),
});

const refuse = (path: string, message: string) =>
  new AppError('validation_error', `${path}: ${message}`, { details: [{ path, message }] });

/**
 * Scores attached to runs; GET /v1/runs filters by them (`score_name`, `score_min`, `score_max`).
 * A score's source and author come from the credential (`ScoreAuthor`); its value is checked
 * against its config; its author or an admin may edit or delete it, and each change keeps the
 * score as it was in `score_history`.
 */
export class ScoreService {
  constructor(
    private readonly db: Db,
    private readonly configs: ScoreConfigService,
  ) {}

  /** `tx`: the transaction to add it in (an annotation queue's submit adds its scores and closes its item in one). */
  async add(
    tenantId: string,
    runId: string,
    input: NewScore,
    by: ScoreAuthor,
    tx: Queryable = this.db,
  ): Promise<Score> {
    if (input.source !== undefined && input.source !== by.source)
      throw refuse(
        'source',
        `set by the server from the credential, which gives "${by.source}", not "${input.source}"`,
      );
    const config = await this.configFor(tenantId, input, tx);
    const name = input.name ?? config?.name;
    if (!name) throw refuse('name', 'required (or name a config)');
    const checked = checkValue(config, input.value);
    const inserted = tx.query<ScoreRow>(
      `insert into scores (id, tenant_id, run_id, name, value, label, config_id, comment, source, created_by)
       select $1, $2, r.id, $4, $5, $6, $7, $8, $9, $10 from runs r where r.tenant_id = $2 and r.id = $3
       returning ${scoreColumns}`,
      [
        newId(),
        tenantId,
        runId,
        name,
        checked.value,
        checked.label,
        config?.id ?? null,
        input.comment ?? null,
        by.source,
        by.author,
      ],
    );
    const [row] = await inserted.catch((err) => {
      // The config was deleted between its look-up and this insert (a foreign key violation).
      throw pgCode(err) === '23503' ? refuse('config', 'the score config was deleted') : err;
    });
    if (!row) throw notFound('run', runId);
    return toScore(row);
  }

  /** The config a new score is checked against: the one it names, or the live one of its name. */
  private async configFor(
    tenantId: string,
    input: NewScore,
    tx: Queryable,
  ): Promise<ScoreConfig | undefined> {
    if (input.config === undefined)
      return input.name ? this.configs.live(tenantId, input.name, tx) : undefined;
    const config = await this.configs.get(tenantId, input.config, tx).catch((err) => {
      throw isNotFound(err) ? refuse('config', `no score config ${input.config}`) : err;
    });
    if (config.archived_at) throw refuse('config', `score config ${config.name} is archived`);
    if (input.name !== undefined && input.name !== config.name)
      throw refuse('name', `config ${config.name} scores under its own name, not ${input.name}`);
    return config;
  }

  async list(tenantId: string, runId: string): Promise<Score[]> {
    const [run] = await this.db.query('select 1 from runs where tenant_id = $1 and id = $2', [
      tenantId,
      runId,
    ]);
    if (!run) throw notFound('run', runId);
    const rows = await this.db.query<ScoreRow>(
      `select ${scoreColumns} from scores where tenant_id = $1 and run_id = $2 order by id`,
      [tenantId, runId],
    );
    return rows.map(toScore);
  }

  /** Changes a score's value (checked against its config) or comment; the score before is kept. */
  async update(
    tenantId: string,
    runId: string,
    scoreId: string,
    patch: ScorePatch,
    by: ScoreAuthor,
    who: Actor,
  ): Promise<Score> {
    return this.db.transaction(async (tx) => {
      const current = await this.lockForChange(tx, tenantId, runId, scoreId, by);
      const config = current.config_id ? await this.configs.get(tenantId, current.config_id, tx) : undefined;
      const checked: CheckedValue =
        patch.value !== undefined
          ? checkValue(config, patch.value)
          : { value: Number(current.value), label: current.label };
      await keepHistory(tx, tenantId, current, 'update', by.author);
      const [row] = await tx.query<ScoreRow>(
        `update scores set value = $3, label = $4, comment = case when $5::boolean then $6 else comment end,
                updated_by = $7, updated_at = now()
          where tenant_id = $1 and id = $2
          returning ${scoreColumns}`,
        [
          tenantId,
          scoreId,
          checked.value,
          checked.label,
          patch.comment !== undefined,
          patch.comment ?? null,
          by.author,
        ],
      );
      await writeJournal(tx, who, {
        action: 'score.update',
        target: scoreId,
        data: { run_id: runId, name: current.name, from: Number(current.value), to: checked.value },
      });
      return toScore(row!);
    });
  }

  /** Deletes a score; its history (with the score as it was) stays. */
  async remove(tenantId: string, runId: string, scoreId: string, by: ScoreAuthor, who: Actor): Promise<void> {
    await this.db.transaction(async (tx) => {
      const current = await this.lockForChange(tx, tenantId, runId, scoreId, by);
      await keepHistory(tx, tenantId, current, 'delete', by.author);
      await tx.query('delete from scores where tenant_id = $1 and id = $2', [tenantId, scoreId]);
      await writeJournal(tx, who, {
        action: 'score.delete',
        target: scoreId,
        data: { run_id: runId, name: current.name, value: Number(current.value) },
      });
    });
  }

  /** The score as it was before each edit and its deletion, oldest first; a deleted score's too. */
  async history(tenantId: string, runId: string, scoreId: string): Promise<ScoreHistoryEntry[]> {
    const rows = await this.db.query<HistoryRow>(
      `select action, name, value, label, comment, changed_by, changed_at from score_history
        where tenant_id = $1 and run_id = $2 and score_id = $3 order by id`,
      [tenantId, runId, scoreId],
    );
    if (rows.length === 0) {
      const [exists] = await this.db.query(
        'select 1 from scores where tenant_id = $1 and run_id = $2 and id = $3',
        [tenantId, runId, scoreId],
      );
      if (!exists) throw notFound('score', scoreId);
    }
    return rows.map((r) => ({ ...r, value: Number(r.value), changed_at: iso(r.changed_at)! }));
  }

  /** The score, locked for the change; 404 when the run has no such score, 403 for another's. */
  private async lockForChange(
    tx: Queryable,
    tenantId: string,
    runId: string,
    scoreId: string,
    by: ScoreAuthor,
  ): Promise<ScoreRow> {
    const [current] = await tx.query<ScoreRow>(
      `select ${scoreColumns} from scores where tenant_id = $1 and run_id = $2 and id = $3 for update`,
      [tenantId, runId, scoreId],
    );
    if (!current) throw notFound('score', scoreId);
    if (!by.admin && current.created_by !== by.author)
      throw new AppError(
        'forbidden',
        `only the score's author (${current.created_by ?? current.source}) or an admin may change it`,
      );
    return current;
  }
}

async function keepHistory(
  tx: Queryable,
  tenantId: string,
  s: ScoreRow,
  action: 'update' | 'delete',
  changedBy: string,
): Promise<void> {
  await tx.query(
    `insert into score_history (id, tenant_id, score_id, run_id, action, name, value, label, comment, changed_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [newId(), tenantId, s.id, s.run_id, action, s.name, s.value, s.label, s.comment, changedBy],
  );
}
