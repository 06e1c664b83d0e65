import type { Queryable } from '../../db/db.ts';
import { newId } from '../../db/ids.ts';
import type { ScoreResult } from '../evaluators/score.ts';

/**
 * The hot path of an experiment, one statement each: a lane claims its next item, records it done
 * (with its scores and a progress event), puts it back, or the last lane closes the experiment.
 */

export interface ClaimedItem {
  id: string;
  seq: number;
  input: unknown;
  expected: unknown;
  dataset_item_id: string;
  /** Claimed before by this lane, whose earlier attempt died mid-item: its run may have started. */
  resumed: boolean;
}

/**
 * The lane's next item: one it had claimed before (its earlier attempt died mid-item), else the
 * first pending one. Nothing while the experiment is not running (cancelled, budget spent), so
 * a stop reaches every lane at its next item without a read of its own.
 */
export async function claimItem(
  db: Queryable,
  experimentId: string,
  lane: number,
): Promise<ClaimedItem | undefined> {
  const [row] = await db.query<ClaimedItem>(
    `with pick as (
       select n.id, n.status = 'running' as resumed from experiment_items n
        where n.experiment_id = $1 and (n.status = 'pending' or (n.status = 'running' and n.lane = $2))
          and exists (select 1 from experiments e where e.id = $1 and e.status = 'running')
        order by (n.status = 'running') desc, n.seq
        limit 1 for update skip locked)
     update experiment_items i set status = 'running', lane = $2, started_at = now()
       from pick where i.id = pick.id
     returning i.id, i.seq, i.input, i.expected, i.dataset_item_id, pick.resumed`,
    [experimentId, lane],
    { name: 'eval_claim_item' },
  );
  return row;
}

export interface ItemOutcome {
  status: 'completed' | 'error';
  runId: string | null;
  /** The trace the output belongs to, when it is not its run's (a prompt's model call, the caller's spans). */
  traceId?: string | null;
  output: string | null;
  errorCode?: string;
  errorMessage?: string;
  scores: ScoreResult[];
  latencyMs: number;
  tokens: number;
  cost: number;
}

/**
 * Records an item's outcome, its scores on the run (`scores`, source `evaluator`, so runs can be
 * filtered by them) and a progress event on the experiment's stream, in one statement. The event's
 * `done` comes from the experiment's counter, bumped under its row lock, so it rises by one per item.
 */
export async function completeItem(
  db: Queryable,
  tenantId: string,
  experimentId: string,
  item: ClaimedItem,
  o: ItemOutcome,
): Promise<void> {
  const scored = o.runId ? o.scores.filter((s) => s.score !== null) : [];
  await db.query(
    `with done as (
       update experiment_items set status = $4, run_id = $5, output = $6, error_code = $7, error_message = $8,
              scores = $9::jsonb, latency_ms = $10, tokens = $11, cost = $12, trace_id = $17, completed_at = now()
        where id = $3 and status = 'running'
        returning id),
     s as (
       insert into scores (id, tenant_id, run_id, name, value, source, experiment_id)
       select x.id, $1, $5, x.name, x.value, 'evaluator', $2
         from unnest($13::uuid[], $14::text[], $15::float8[]) as x(id, name, value)
        where exists (select 1 from done)),
     bump as (
       update experiments set finished = finished + 1
        where id = $2 and exists (select 1 from done)
        returning finished, total)
     insert into events (tenant_id, stream_id, type, data)
     select $1, $2, 'experiment.item',
            jsonb_build_object('seq', $16::int, 'status', $4::text, 'done', b.finished, 'total', b.total)
       from bump b`,
    [
      tenantId,
      experimentId,
      item.id,
      o.status,
      o.runId,
      o.output,
      o.errorCode ?? null,
      o.errorMessage ?? null,
      JSON.stringify(o.scores),
      o.latencyMs,
      o.tokens,
      o.cost,
      scored.map(() => newId()),
      scored.map((s) => s.name),
      scored.map((s) => s.score),
      item.seq,
      o.traceId ?? null,
    ],
    { name: 'eval_complete_item' },
  );
}

/** Puts an item back for a later lane (the tenant's budget ran out before it could run). */
export async function unclaimItem(db: Queryable, itemId: string): Promise<void> {
  await db.query(
    `update experiment_items set status = 'pending', lane = null, started_at = null where id = $1 and status = 'running'`,
    [itemId],
  );
}

/**
 * Stops a running experiment with a state and a reason (budget spent, cancelled) and logs
 * `experiment.stopped`; the lanes see it at their next claim.
 */
export async function stopExperiment(
  db: Queryable,
  tenantId: string,
  experimentId: string,
  status: 'budget_exhausted' | 'failed' | 'cancelled',
  reason: string,
): Promise<void> {
  await db.query(
    `with e as (
       update experiments set status = $3, stop_reason = $4, updated_at = now(), completed_at = now()
        where id = $2 and status = 'running' returning id)
     insert into events (tenant_id, stream_id, type, data)
     select $1, $2, 'experiment.stopped', jsonb_build_object('status', $3::text, 'reason', $4::text) from e`,
    [tenantId, experimentId, status, reason],
  );
}

/** Completes the experiment once no item is open; the last lane to finish does it. True when this call did. */
export async function finishIfDone(db: Queryable, tenantId: string, experimentId: string): Promise<boolean> {
  const rows = await db.query(
    `with e as (
       update experiments set status = 'completed', completed_at = now(), updated_at = now()
        where id = $2 and status = 'running'
          and not exists (select 1 from experiment_items i where i.experiment_id = $2 and i.status in ('pending', 'running'))
        returning id)
     insert into events (tenant_id, stream_id, type, data)
     select $1, $2, 'experiment.completed', '{}'::jsonb from e returning seq`,
    [tenantId, experimentId],
  );
  return rows.length > 0;
}

/** What the experiment has spent so far on its items and on its judge, for its own budget. */
export async function spent(db: Queryable, experimentId: string): Promise<{ cost: number; tokens: number }> {
  const [row] = await db.query<{ cost: number; tokens: number }>(
    `select coalesce(sum(cost), 0)::float8 as cost, coalesce(sum(tokens), 0)::float8 as tokens
       from experiment_items where experiment_id = $1 and status in ('completed', 'error')`,
    [experimentId],
  );
  return row ?? { cost: 0, tokens: 0 };
}
