import type { Db } from '../db/db.ts';
import { newId } from '../db/ids.ts';
import { notFound, toError } from '../errors.ts';
import type { BatchResult, IngestJob } from './schema.ts';

interface JobRow {
  id: string;
  knowledge_base_id: string;
  status: IngestJob['status'];
  total: number;
  done: number;
  failed: number;
  error: string | null;
  results: BatchResult | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

const toJob = (r: JobRow): IngestJob => ({
  id: r.id,
  knowledge_base_id: r.knowledge_base_id,
  status: r.status,
  total: r.total,
  done: r.done,
  failed: r.failed,
  error: r.error,
  result: r.results,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
  finished_at: r.finished_at?.toISOString() ?? null,
});

/** Reports progress as (items done, items failed) so far. */
export type Progress = (done: number, failed: number) => Promise<void>;

/** How often a running ingest says it is alive, and after how many missed beats it is taken for dead. */
export interface IngestLiveness {
  heartbeatMs: number;
  staleAfterBeats: number;
}

const defaultLiveness: IngestLiveness = { heartbeatMs: 10_000, staleAfterBeats: 6 };

/**
 * Batch ingests that answer at once (202) and run in the background of this process: the store
 * holds each one's progress and results, so any process serving the API can report them, for
 * `retentionDays` after it ends (each new ingest deletes a batch of records past that). A process
 * that stops waits for its running ingests (`settle`) before the store is closed. One killed outright
 * stops beating: once its ingest has not been touched for `staleAfterBeats` beats, the next read
 * marks it failed as interrupted (the documents written so far stay; the rest can be sent again,
 * an unchanged document comes back `unchanged`).
 */
export class IngestJobs {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly retentionDays = 0,
    private readonly liveness: IngestLiveness = defaultLiveness,
  ) {}

  async start(
    tenantId: string,
    kbId: string,
    total: number,
    run: (progress: Progress) => Promise<BatchResult>,
  ): Promise<IngestJob> {
    // Records go as new ones come, in the same statement, so the table holds about `retentionDays`
    // of ingests with no timer and no extra round trip (in seconds: the setting may be fractional).
    const [row] = await this.db.query<JobRow>(
      `with expired as (
         delete from kb_ingests where id in (select id from kb_ingests
           where $5::float8 > 0 and finished_at < now() - make_interval(secs => $5::float8 * 86400) limit 100))
       insert into kb_ingests (id, tenant_id, knowledge_base_id, total) values ($1, $2, $3, $4) returning *`,
      [newId(), tenantId, kbId, total, this.retentionDays],
    );
    const id = row!.id;
    const work = this.run(id, run).finally(() => this.running.delete(work));
    this.running.add(work);
    return toJob(row!);
  }

  private async run(id: string, run: (progress: Progress) => Promise<BatchResult>): Promise<void> {
    const progress: Progress = async (done, failed) => {
      await this.db.query('update kb_ingests set done = $2, failed = $3, updated_at = now() where id = $1', [
        id,
        done,
        failed,
      ]);
    };
    // The store's clock judges liveness (processes of a fleet may disagree on theirs).
    const beat = setInterval(() => {
      // A missed heartbeat is retried at the next beat; a long outage lets another process take the job over.
      void this.db.query('update kb_ingests set updated_at = now() where id = $1', [id]).catch(() => {});
    }, this.liveness.heartbeatMs);
    beat.unref();
    try {
      const result = await run(progress);
      await this.db.query(
        `update kb_ingests set status = 'succeeded', done = total, failed = $2, results = $3::jsonb,
                updated_at = now(), finished_at = now() where id = $1`,
        [id, result.failed, JSON.stringify(result)],
      );
    } catch (err) {
      // The whole ingest stopped (the knowledge base was deleted, the store went away): said on the
      // record; if even that write fails there is nobody left to tell.
      await this.db
        .query(
          `update kb_ingests set status = 'failed', error = $2, updated_at = now(), finished_at = now() where id = $1`,
          [id, toError(err).message],
        )
        .catch(() => {});
    } finally {
      clearInterval(beat);
    }
  }

  async get(tenantId: string, kbId: string, id: string): Promise<IngestJob> {
    const staleMs = this.liveness.heartbeatMs * this.liveness.staleAfterBeats;
    await this.db.query(
      `update kb_ingests set status = 'failed', finished_at = now(),
              error = 'interrupted: the process running it stopped after ' || done || ' of ' || total ||
                      ' items; the documents written so far are kept, send the batch again for the rest'
        where id = $1 and tenant_id = $2 and status = 'running'
          and updated_at < now() - make_interval(secs => $3::float8 / 1000)`,
      [id, tenantId, staleMs],
    );
    const [row] = await this.db.query<JobRow>(
      'select * from kb_ingests where id = $1 and tenant_id = $2 and knowledge_base_id = $3',
      [id, tenantId, kbId],
    );
    if (!row) throw notFound('ingest', id);
    return toJob(row);
  }

  /** Waits for the ingests this process is running (at shutdown, before the store closes). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }
}
