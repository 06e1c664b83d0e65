import { runVisibleSql } from '../../auth/ownership.ts';
import type { Db, Queryable } from '../../db/db.ts';
import { newId } from '../../db/ids.ts';
import { iso } from '../../db/iso.ts';
import { listPage, type PageQuery } from '../../db/page.ts';
import { AppError, isNotFound, isUniqueViolation, notFound } from '../../errors.ts';
import { type Actor, writeJournal } from '../../events/journal.ts';
import { runFilters } from '../../runtime/trace/traces.ts';
import type { DatasetService } from '../datasets/datasets.ts';
import type { ScoreConfig } from '../scores/config-schema.ts';
import type { ScoreConfigService } from '../scores/configs.ts';
import type { FillBody, NewQueue, Queue, QueuePatch, RunFilter } from './schema.ts';

/** A run to add, with the expected output an experiment's item gives it. */
interface Found {
  run_id: string;
  expected?: unknown;
}

interface QueueRow {
  id: string;
  name: string;
  description: string;
  score_configs: string[];
  dataset_id: string | null;
  lease_seconds: number;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  total: number;
  pending: number;
  claimed: number;
  done: number;
  skipped: number;
}

/** A queue's columns with its counts; an expired claim counts as pending (it is free to claim). */
const queueColumns = `q.id, q.name, q.description, q.score_configs, q.dataset_id, q.lease_seconds,
  q.created_by, q.created_at, q.updated_at, c.total, c.pending, c.claimed, c.done, c.skipped`;
const queueCountsJoin = `cross join lateral (
  select count(*)::int as total,
         (count(*) filter (where i.status = 'pending' or (i.status = 'claimed' and i.claim_expires_at <= now())))::int as pending,
         (count(*) filter (where i.status = 'claimed' and i.claim_expires_at > now()))::int as claimed,
         (count(*) filter (where i.status = 'done'))::int as done,
         (count(*) filter (where i.status = 'skipped'))::int as skipped
    from annotation_queue_items i where i.queue_id = q.id) c`;

/** Runs shared with the whole tenant (the visibility rule with no one's id): every reviewer may see them. */
const SHARED = '';

/**
 * A tenant's annotation queues: their definition (score configs, target dataset, lease) and their
 * filling. A queue holds only runs the whole tenant may see, so any reviewer can be given any item;
 * a run is in a queue once, so filling again with the same filter adds only what is new.
 */
export class QueueService {
  constructor(
    private readonly db: Db,
    private readonly configs: ScoreConfigService,
    private readonly datasets: DatasetService,
  ) {}

  async create(tenantId: string, input: NewQueue, author: string, who: Actor): Promise<Queue> {
    const configs = await this.resolveConfigs(tenantId, input.score_configs);
    const datasetId = input.dataset === undefined ? null : await this.datasetId(tenantId, input.dataset);
    const id = newId();
    try {
      await this.db.transaction(async (tx) => {
        await tx.query(
          `insert into annotation_queues (id, tenant_id, name, description, score_configs, dataset_id, lease_seconds, created_by)
           values ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)`,
          [
            id,
            tenantId,
            input.name,
            input.description ?? '',
            JSON.stringify(configs.map((c) => c.id)),
            datasetId,
            input.lease_seconds ?? 600,
            author,
          ],
        );
        await writeJournal(tx, who, {
          action: 'annotation_queue.create',
          target: id,
          data: { name: input.name },
        });
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw new AppError('conflict', `an annotation queue named ${input.name} exists`);
      throw err;
    }
    return this.get(tenantId, id);
  }

  async get(tenantId: string, id: string, tx: Queryable = this.db): Promise<Queue> {
    const [row] = await tx.query<QueueRow>(
      `select ${queueColumns} from annotation_queues q ${queueCountsJoin} where q.tenant_id = $1 and q.id = $2`,
      [tenantId, id],
    );
    if (!row) throw notFound('annotation queue', id);
    return (await this.withConfigs(tenantId, [row], tx))[0]!;
  }

  async list(tenantId: string, q: PageQuery) {
    const page = await listPage(
      this.db,
      q,
      {
        select: queueColumns,
        from: `from annotation_queues q ${queueCountsJoin} where q.tenant_id = $1`,
        orderBy: 'q.name, q.id',
        params: [tenantId],
      },
      (r: QueueRow) => r,
    );
    return { ...page, data: await this.withConfigs(tenantId, page.data) };
  }

  async update(tenantId: string, id: string, patch: QueuePatch, who: Actor): Promise<Queue> {
    const configs = patch.score_configs && (await this.resolveConfigs(tenantId, patch.score_configs));
    const datasetId =
      patch.dataset === undefined || patch.dataset === null
        ? null
        : await this.datasetId(tenantId, patch.dataset);
    try {
      await this.db.transaction(async (tx) => {
        const [row] = await tx.query(
          `update annotation_queues
              set name = coalesce($3, name),
                  description = coalesce($4, description),
                  score_configs = coalesce($5::jsonb, score_configs),
                  dataset_id = case when $6::boolean then $7::uuid else dataset_id end,
                  lease_seconds = coalesce($8, lease_seconds),
                  updated_at = now()
            where tenant_id = $1 and id = $2
            returning id`,
          [
            tenantId,
            id,
            patch.name ?? null,
            patch.description ?? null,
            configs ? JSON.stringify(configs.map((c) => c.id)) : null,
            patch.dataset !== undefined,
            datasetId,
            patch.lease_seconds ?? null,
          ],
        );
        if (!row) throw notFound('annotation queue', id);
        await writeJournal(tx, who, { action: 'annotation_queue.update', target: id, data: { ...patch } });
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw new AppError('conflict', `an annotation queue named ${patch.name} exists`);
      throw err;
    }
    return this.get(tenantId, id);
  }

  /** Deletes a queue and its items; the scores its reviewers submitted stay on their runs. */
  async remove(tenantId: string, id: string, who: Actor): Promise<void> {
    await this.db.transaction(async (tx) => {
      const [row] = await tx.query<{ name: string }>(
        'delete from annotation_queues where tenant_id = $1 and id = $2 returning name',
        [tenantId, id],
      );
      if (!row) throw notFound('annotation queue', id);
      await writeJournal(tx, who, {
        action: 'annotation_queue.delete',
        target: id,
        data: { name: row.name },
      });
    });
  }

  /**
   * Adds runs: under a filter, an experiment's items (with their expected output), or by id. Runs
   * already in the queue, and runs not shared with the tenant, are not added.
   */
  async fill(
    tenantId: string,
    id: string,
    body: FillBody,
    who: Actor,
  ): Promise<{ added: number; already: number }> {
    await this.get(tenantId, id);
    const found: Found[] = body.runs
      ? await this.runsUnder(tenantId, body.runs)
      : body.experiment_id
        ? await this.experimentRuns(tenantId, body.experiment_id)
        : await this.runsById(tenantId, body.run_ids ?? []);
    if (found.length === 0) return { added: 0, already: 0 };
    return this.db.transaction(async (tx) => {
      const added = await tx.query(
        `insert into annotation_queue_items (id, queue_id, tenant_id, run_id, experiment_id, expected)
         select x.id, $1, $2, x.run_id, $3::uuid, x.expected
           from unnest($4::uuid[], $5::uuid[], $6::jsonb[]) as x (id, run_id, expected)
         on conflict (queue_id, run_id) do nothing
         returning id`,
        [
          id,
          tenantId,
          body.experiment_id ?? null,
          found.map(() => newId()),
          found.map((f) => f.run_id),
          found.map((f) => (f.expected === undefined ? null : JSON.stringify(f.expected))),
        ],
      );
      const result = { added: added.length, already: found.length - added.length };
      await writeJournal(tx, who, { action: 'annotation_queue.fill', target: id, data: result });
      return result;
    });
  }

  /** Oldest first, so a queue is reviewed in the order its runs happened. */
  private async runsUnder(tenantId: string, f: RunFilter): Promise<Found[]> {
    const { agent_version, limit, ...q } = f;
    const { where, params } = runFilters(q, { userId: SHARED, admin: false });
    const n = params.length + 2;
    const rows = await this.db.query<{ id: string }>(
      `select id from (
         select r.id from runs r where ${where} and ($${n}::int is null or r.agent_version = $${n})
          order by r.id desc limit $${n + 1}) newest
        order by id`,
      [tenantId, ...params, agent_version ?? null, limit],
    );
    return rows.map((r) => ({ run_id: r.id }));
  }

  private async experimentRuns(tenantId: string, experimentId: string) {
    const [exists] = await this.db.query('select 1 from experiments where tenant_id = $1 and id = $2', [
      tenantId,
      experimentId,
    ]);
    if (!exists) throw notFound('experiment', experimentId);
    const rows = await this.db.query<{ run_id: string; expected: unknown }>(
      `select i.run_id, i.expected from experiment_items i join runs r on r.id = i.run_id and r.tenant_id = i.tenant_id
        where i.tenant_id = $1 and i.experiment_id = $2 and ${sharedRun}
        order by i.seq`,
      [tenantId, experimentId, SHARED],
    );
    return rows;
  }

  private async runsById(tenantId: string, ids: string[]) {
    const rows = await this.db.query<{ id: string }>(
      `select r.id from runs r where r.tenant_id = $1 and r.id = any($2::uuid[]) and ${sharedRunOf(3)} order by r.id`,
      [tenantId, ids, SHARED],
    );
    if (rows.length < new Set(ids).size) {
      const have = new Set(rows.map((r) => r.id));
      const missing = ids.find((x) => !have.has(x));
      throw new AppError('unprocessable', `run ${missing} is not found or not shared with the tenant`, {
        details: [
          {
            in: 'body',
            path: 'run_ids',
            message: `run ${missing} is not found or not shared with the tenant`,
          },
        ],
      });
    }
    return rows.map((r) => ({ run_id: r.id }));
  }

  /** The live configs named, in order; a 400 names the one not found or archived. */
  private async resolveConfigs(tenantId: string, refs: string[]): Promise<ScoreConfig[]> {
    const out: ScoreConfig[] = [];
    for (const [i, ref] of refs.entries()) {
      const refuse = (message: string) =>
        new AppError('validation_error', `score_configs.${i}: ${message}`, {
          details: [{ path: `score_configs.${i}`, message }],
        });
      const config = await this.configs.get(tenantId, ref).catch((err) => {
        throw isNotFound(err) ? refuse(`no score config ${ref}`) : err;
      });
      if (config.archived_at) throw refuse(`score config ${config.name} is archived`);
      if (out.some((c) => c.id === config.id)) throw refuse(`score config ${config.name} is named twice`);
      out.push(config);
    }
    return out;
  }

  private async datasetId(tenantId: string, ref: string): Promise<string> {
    const dataset = await this.datasets.get(tenantId, ref).catch((err) => {
      throw isNotFound(err)
        ? new AppError('validation_error', `dataset: no dataset ${ref}`, {
            details: [{ path: 'dataset', message: `no dataset ${ref}` }],
          })
        : err;
    });
    return dataset.id;
  }

  /** The rows with their configs in full (archived ones too: a queue keeps what it was made with). */
  private async withConfigs(tenantId: string, rows: QueueRow[], tx: Queryable = this.db): Promise<Queue[]> {
    const ids = [...new Set(rows.flatMap((r) => r.score_configs))];
    const configs = new Map<string, ScoreConfig>();
    for (const cid of ids) {
      // A config no score named yet may have been deleted since: the queue goes on without it.
      const config = await this.configs.get(tenantId, cid, tx).catch((err) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
      if (config) configs.set(cid, config);
    }
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      description: r.description,
      score_configs: r.score_configs.flatMap((c) => configs.get(c) ?? []),
      dataset_id: r.dataset_id,
      lease_seconds: r.lease_seconds,
      counts: { total: r.total, pending: r.pending, claimed: r.claimed, done: r.done, skipped: r.skipped },
      created_by: r.created_by,
      created_at: iso(r.created_at)!,
      updated_at: iso(r.updated_at)!,
    }));
  }
}

const sharedRunOf = (n: number) => runVisibleSql(n, 'r.');
const sharedRun = sharedRunOf(3);
