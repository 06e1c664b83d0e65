import type { Viewer } from '../../auth/ownership.ts';
import type { Db, Queryable } from '../../db/db.ts';
import { iso } from '../../db/iso.ts';
import { listPage, type PageQuery } from '../../db/page.ts';
import { AppError, notFound } from '../../errors.ts';
import type { DatasetService } from '../datasets/datasets.ts';
import type { DatasetItem } from '../datasets/schema.ts';
import type { Score, ScoreService } from '../scores/scores.ts';
import type { ScoreAuthor } from '../scores/source.ts';
import type { QueueService } from './queues.ts';
import type { Progress, QueueItem, ReviewItem, SubmitBody, ToDatasetBody } from './schema.ts';

interface ItemRow {
  id: string;
  queue_id: string;
  run_id: string;
  experiment_id: string | null;
  expected: unknown;
  status: QueueItem['status'];
  claimed_by: string | null;
  claim_expires_at: Date | null;
  reviewed_by: string | null;
  reviewed_at: Date | null;
  comment: string | null;
  dataset_item_id: string | null;
  created_at: Date;
}

const itemColumns = `id, queue_id, run_id, experiment_id, expected, status, claimed_by, claim_expires_at,
  reviewed_by, reviewed_at, comment, dataset_item_id, created_at`;

const toItem = ({ expected: _, ...r }: ItemRow): QueueItem => ({
  ...r,
  claim_expires_at: iso(r.claim_expires_at),
  reviewed_at: iso(r.reviewed_at),
  created_at: iso(r.created_at)!,
});

const refuse = (path: string, message: string) =>
  new AppError('validation_error', `${path}: ${message}`, { details: [{ path, message }] });

/**
 * A reviewer's work on a queue: claim the next item (a lease of the queue's `lease_seconds`; an
 * expired claim is free to claim again), score it against the queue's configs, skip it, or copy it
 * into a dataset with a corrected expected output; and the queue's progress per reviewer.
 */
export class ReviewService {
  constructor(
    private readonly db: Db,
    private readonly queues: QueueService,
    private readonly scores: ScoreService,
    private readonly datasets: DatasetService,
  ) {}

  /**
   * The reviewer's item: the one they hold (its claim renewed), else the oldest free one, claimed
   * in one statement that skips rows another claim is locking, so two reviewers never get the same
   * item. Null when nothing is left to claim.
   */
  async next(tenantId: string, queueId: string, reviewer: string): Promise<ReviewItem | null> {
    const queue = await this.queues.get(tenantId, queueId);
    const lease = queue.lease_seconds;
    const [held] = await this.db.query<ItemRow>(
      `update annotation_queue_items set claim_expires_at = now() + make_interval(secs => $4)
        where id = (select id from annotation_queue_items
                     where queue_id = $1 and tenant_id = $2 and status = 'claimed' and claimed_by = $3
                       and claim_expires_at > now()
                     order by id limit 1)
        returning ${itemColumns}`,
      [queueId, tenantId, reviewer, lease],
    );
    if (held) return this.view(tenantId, held);
    const [claimed] = await this.db.query<ItemRow>(
      `update annotation_queue_items
          set status = 'claimed', claimed_by = $3, claim_expires_at = now() + make_interval(secs => $4)
        where id = (select id from annotation_queue_items
                     where queue_id = $1 and tenant_id = $2
                       and (status = 'pending' or (status = 'claimed' and claim_expires_at <= now()))
                     order by id limit 1
                     for update skip locked)
          and (status = 'pending' or (status = 'claimed' and claim_expires_at <= now()))
        returning ${itemColumns}`,
      [queueId, tenantId, reviewer, lease],
    );
    return claimed ? this.view(tenantId, claimed) : null;
  }

  /** An item as a reviewer sees it (any status). */
  async read(tenantId: string, queueId: string, itemId: string): Promise<ReviewItem> {
    return this.view(tenantId, await this.item(this.db, tenantId, queueId, itemId));
  }

  list(tenantId: string, queueId: string, q: PageQuery & { status?: QueueItem['status'] }) {
    return listPage(
      this.db,
      q,
      {
        select: itemColumns,
        from: `from annotation_queue_items where tenant_id = $1 and queue_id = $2 and ($3::text is null or status = $3)`,
        orderBy: 'id',
        params: [tenantId, queueId, q.status ?? null],
      },
      toItem,
    );
  }

  /**
   * Scores the reviewer's item with a value for each of the queue's configs, checked by the score
   * service (source and author from the credential), and marks it done, all in one transaction.
   */
  async submit(
    tenantId: string,
    queueId: string,
    itemId: string,
    body: SubmitBody,
    by: ScoreAuthor,
  ): Promise<{ item: QueueItem; scores: Score[] }> {
    const queue = await this.queues.get(tenantId, queueId);
    const chosen = body.scores.map((s, i) => {
      const config = queue.score_configs.find((c) => c.id === s.config || c.name === s.config);
      if (!config)
        throw refuse(
          `scores.${i}.config`,
          `${s.config} is not one of the queue's configs (${queue.score_configs.map((c) => c.name).join(', ')})`,
        );
      return { config, value: s.value };
    });
    const seen = new Set<string>();
    for (const [i, c] of chosen.entries()) {
      if (seen.has(c.config.id)) throw refuse(`scores.${i}.config`, `${c.config.name} is scored twice`);
      seen.add(c.config.id);
    }
    const missing = queue.score_configs.filter((c) => !seen.has(c.id)).map((c) => c.name);
    if (missing.length > 0)
      throw refuse('scores', `a value for each of the queue's configs; missing ${missing.join(', ')}`);
    return this.db.transaction(async (tx) => {
      const item = await this.heldBy(tx, tenantId, queueId, itemId, by.author);
      const scores: Score[] = [];
      for (const c of chosen)
        scores.push(
          await this.scores.add(
            tenantId,
            item.run_id,
            {
              config: c.config.id,
              value: c.value,
              ...(body.comment !== undefined && { comment: body.comment }),
            },
            by,
            tx,
          ),
        );
      const done = await this.close(tx, item.id, 'done', by.author, body.comment ?? null);
      return { item: done, scores };
    });
  }

  /** Sets the reviewer's item aside: skipped, not offered again. */
  async skip(tenantId: string, queueId: string, itemId: string, by: ScoreAuthor): Promise<QueueItem> {
    return this.db.transaction(async (tx) => {
      const item = await this.heldBy(tx, tenantId, queueId, itemId, by.author);
      return this.close(tx, item.id, 'skipped', by.author, null);
    });
  }

  /**
   * Copies an item's run into a dataset (the queue's unless named): its input, and as expected
   * output the corrected one sent, else the experiment item's, else the run's output. Any status.
   */
  async toDataset(
    tenantId: string,
    queueId: string,
    itemId: string,
    body: ToDatasetBody,
    viewer: Viewer,
  ): Promise<DatasetItem> {
    const queue = await this.queues.get(tenantId, queueId);
    const dataset = body.dataset ?? queue.dataset_id;
    if (!dataset) throw refuse('dataset', 'the queue has no dataset: name one');
    const item = await this.item(this.db, tenantId, queueId, itemId);
    const expected = body.expected !== undefined ? body.expected : (item.expected ?? undefined);
    const made = await this.datasets.addFromRun(
      tenantId,
      dataset,
      {
        run_id: item.run_id,
        output_as_expected: true,
        ...(expected !== undefined && { expected }),
        metadata: { annotation_queue_id: queueId, annotation_item_id: itemId },
        ...(body.tags && { tags: body.tags }),
      },
      viewer,
    );
    await this.db.query('update annotation_queue_items set dataset_item_id = $2 where id = $1', [
      itemId,
      made.id,
    ]);
    return made;
  }

  async progress(tenantId: string, queueId: string): Promise<Progress> {
    const { counts } = await this.queues.get(tenantId, queueId);
    const reviewers = await this.db.query<Progress['reviewers'][number]>(
      `select reviewer,
              (count(*) filter (where s = 'done'))::int as done,
              (count(*) filter (where s = 'skipped'))::int as skipped,
              (count(*) filter (where s = 'claimed'))::int as claimed
         from (select reviewed_by as reviewer, status as s from annotation_queue_items
                where queue_id = $1 and tenant_id = $2 and status in ('done', 'skipped')
               union all
               select claimed_by, 'claimed' from annotation_queue_items
                where queue_id = $1 and tenant_id = $2 and status = 'claimed' and claim_expires_at > now()) x
        group by reviewer order by reviewer`,
      [queueId, tenantId],
    );
    return { ...counts, reviewers };
  }

  private async item(tx: Queryable, tenantId: string, queueId: string, itemId: string, lock = false) {
    const [row] = await tx.query<ItemRow>(
      `select ${itemColumns} from annotation_queue_items where tenant_id = $1 and queue_id = $2 and id = $3
       ${lock ? 'for update' : ''}`,
      [tenantId, queueId, itemId],
    );
    if (!row) throw notFound('annotation queue item', itemId);
    return row;
  }

  /** The item, locked, if the reviewer holds it (a 409 otherwise: done, or not claimed by them). */
  private async heldBy(tx: Queryable, tenantId: string, queueId: string, itemId: string, reviewer: string) {
    const item = await this.item(tx, tenantId, queueId, itemId, true);
    if (item.status === 'done' || item.status === 'skipped')
      throw new AppError('conflict', `item ${itemId} is ${item.status} (by ${item.reviewed_by})`);
    if (item.status !== 'claimed' || item.claimed_by !== reviewer)
      throw new AppError(
        'conflict',
        item.status === 'claimed' && item.claim_expires_at && item.claim_expires_at > new Date()
          ? `item ${itemId} is claimed by another reviewer`
          : `item ${itemId} is not claimed by you: take it with POST /v1/annotation-queues/${queueId}/next`,
      );
    return item;
  }

  private async close(
    tx: Queryable,
    id: string,
    status: 'done' | 'skipped',
    by: string,
    comment: string | null,
  ) {
    const [row] = await tx.query<ItemRow>(
      `update annotation_queue_items
          set status = $2, reviewed_by = $3, reviewed_at = now(), comment = $4, claim_expires_at = null
        where id = $1 returning ${itemColumns}`,
      [id, status, by, comment],
    );
    return toItem(row!);
  }

  private async view(tenantId: string, item: ItemRow): Promise<ReviewItem> {
    const [run] = await this.db.query<{
      input: string;
      output: string | null;
      status: string;
      agent_id: string;
      agent_name: string | null;
      agent_version: number | null;
      trace_id: string | null;
    }>(
      `select r.input, r.output, r.status, r.agent_id, a.name as agent_name, r.agent_version,
              r.options->>'trace_id' as trace_id
         from runs r left join agents a on a.id = r.agent_id
        where r.tenant_id = $1 and r.id = $2`,
      [tenantId, item.run_id],
    );
    if (!run) throw notFound('run', item.run_id);
    return {
      item: toItem(item),
      agent_id: run.agent_id,
      agent_name: run.agent_name,
      agent_version: run.agent_version,
      input: run.input,
      output: run.output,
      run_status: run.status,
      expected: item.expected ?? null,
      trace_id: run.trace_id,
      trace_url: `/v1/runs/${item.run_id}/trace`,
      scores: await this.scores.list(tenantId, item.run_id),
    };
  }
}
