import type { Db, Queryable } from '../../db/db.ts';
import { newId } from '../../db/ids.ts';
import { iso } from '../../db/iso.ts';
import { listPage, type PageQuery } from '../../db/page.ts';
import { AppError, isUniqueViolation, nameTaken, notFound } from '../../errors.ts';
import { type Actor, writeJournal } from '../../events/journal.ts';
import type { NewScoreConfig, ScoreConfig, ScoreConfigPatch } from './config-schema.ts';

interface ConfigRow {
  id: string;
  name: string;
  kind: ScoreConfig['kind'];
  description: string;
  min_value: number | null;
  max_value: number | null;
  categories: ScoreConfig['categories'];
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  archived_at: Date | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const toConfig = (r: ConfigRow): ScoreConfig => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  description: r.description,
  min: r.min_value === null ? null : Number(r.min_value),
  max: r.max_value === null ? null : Number(r.max_value),
  categories: r.categories,
  created_by: r.created_by,
  created_at: iso(r.created_at)!,
  updated_at: iso(r.updated_at)!,
  archived_at: iso(r.archived_at),
});

/** The SQL that finds a config by id (archived ones too) or by name (the live one of that name). */
const byRef = (ref: string, n: number) =>
  UUID.test(ref) ? `id = $${n}::uuid` : `name = $${n} and archived_at is null`;

/**
 * A tenant's score configs. Names are unique among live configs. Deleting a config that no score
 * names removes it; one that scores name is archived instead: those scores keep the scale they
 * were checked against, new scores cannot name it, and its name is free for a new config.
 */
export class ScoreConfigService {
  constructor(private readonly db: Db) {}

  async create(tenantId: string, input: NewScoreConfig, author: string, who: Actor): Promise<ScoreConfig> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<ConfigRow>(
        `insert into score_configs (id, tenant_id, name, kind, description, min_value, max_value, categories, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)
         on conflict (tenant_id, name) where archived_at is null do nothing
         returning *`,
        [
          newId(),
          tenantId,
          input.name,
          input.kind,
          input.description ?? '',
          input.min ?? null,
          input.max ?? null,
          input.categories ? JSON.stringify(input.categories) : null,
          author,
        ],
      );
      if (!row) throw nameTaken(`a score config named ${input.name} exists`);
      await writeJournal(tx, who, {
        action: 'score_config.create',
        target: row.id,
        data: { name: input.name, kind: input.kind },
      });
      return toConfig(row);
    });
  }

  /** A config by id, or the live one of a name. */
  async get(tenantId: string, ref: string, tx: Queryable = this.db): Promise<ScoreConfig> {
    const [row] = await tx.query<ConfigRow>(
      `select * from score_configs where tenant_id = $1 and ${byRef(ref, 2)}`,
      [tenantId, ref],
    );
    if (!row) throw notFound('score config', ref);
    return toConfig(row);
  }

  /** The live config of a name, if there is one (a score of that name is checked against it). */
  async live(tenantId: string, name: string, tx: Queryable = this.db): Promise<ScoreConfig | undefined> {
    const [row] = await tx.query<ConfigRow>(
      'select * from score_configs where tenant_id = $1 and name = $2 and archived_at is null',
      [tenantId, name],
    );
    return row && toConfig(row);
  }

  list(tenantId: string, q: PageQuery & { archived?: 'true' | 'false' }) {
    return listPage(
      this.db,
      q,
      {
        select: '*',
        from: 'from score_configs where tenant_id = $1 and ($2::boolean or archived_at is null)',
        orderBy: 'name, id',
        params: [tenantId, q.archived === 'true'],
      },
      toConfig,
    );
  }

  async update(tenantId: string, ref: string, patch: ScoreConfigPatch, who: Actor): Promise<ScoreConfig> {
    try {
      return await this.db.transaction(async (tx) => {
        const current = await this.get(tenantId, ref, tx);
        const [row] = await tx.query<ConfigRow>(
          `update score_configs
              set description = coalesce($3, description),
                  archived_at = case when $4::boolean is null then archived_at
                                     when $4 then coalesce(archived_at, now()) else null end,
                  updated_at = now()
            where tenant_id = $1 and id = $2
            returning *`,
          [tenantId, current.id, patch.description ?? null, patch.archived ?? null],
        );
        await writeJournal(tx, who, {
          action: 'score_config.update',
          target: current.id,
          data: { ...patch },
        });
        return toConfig(row!);
      });
    } catch (err) {
      // Brought back while a live config has taken its name.
      if (isUniqueViolation(err))
        throw new AppError('conflict', `a live score config has this one's name: archive or delete it first`);
      throw err;
    }
  }

  /** Removes a config no score names (undefined), or archives one that scores name (the config). */
  async remove(tenantId: string, ref: string, who: Actor): Promise<ScoreConfig | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<ConfigRow>(
        `select * from score_configs where tenant_id = $1 and ${byRef(ref, 2)} for update`,
        [tenantId, ref],
      );
      if (!row) throw notFound('score config', ref);
      const [named] = await tx.query('select 1 from scores where config_id = $1 limit 1', [row.id]);
      if (!named) {
        await tx.query('delete from score_configs where id = $1', [row.id]);
        await writeJournal(tx, who, {
          action: 'score_config.delete',
          target: row.id,
          data: { name: row.name },
        });
        return undefined;
      }
      const [archived] = await tx.query<ConfigRow>(
        `update score_configs set archived_at = coalesce(archived_at, now()), updated_at = now()
          where id = $1 returning *`,
        [row.id],
      );
      await writeJournal(tx, who, {
        action: 'score_config.archive',
        target: row.id,
        data: { name: row.name },
      });
      return toConfig(archived!);
    });
  }
}
