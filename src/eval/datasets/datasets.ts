import {
  assertMayChangeVisibility,
  canSee,
  runVisibleSql,
  type Viewer,
  visibleParam,
  visibleSql,
} from '../../auth/ownership.ts';
import type { Db, Queryable } from '../../db/db.ts';
import { newId } from '../../db/ids.ts';
import { iso } from '../../db/iso.ts';
import { listPage, type PageQuery } from '../../db/page.ts';
import { AppError, isUniqueViolation, notFound } from '../../errors.ts';
import { type Actor, writeJournal } from '../../events/journal.ts';
import type { Parsed } from './parse.ts';
import type {
  CreateDatasetInput,
  Dataset,
  DatasetItem,
  DatasetVersion,
  ItemInput,
  LineError,
  NewItem,
  UpdateDatasetInput,
} from './schema.ts';

interface DatasetRow {
  id: string;
  name: string;
  description: string;
  item_count: number;
  version: number;
  owner: string | null;
  visibility: Dataset['visibility'];
  created_at: Date;
  updated_at: Date;
}

interface ItemRow {
  id: string;
  dataset_id: string;
  input: ItemInput;
  expected: unknown;
  metadata: Record<string, unknown>;
  tags: string[];
  source_run_id: string | null;
  created_at: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Rows per insert statement of a bulk import. */
const BATCH = 1000;

const toDataset = (r: DatasetRow): Dataset => ({
  id: r.id,
  name: r.name,
  description: r.description,
  item_count: Number(r.item_count),
  version: r.version,
  owner: r.owner,
  visibility: r.visibility,
  created_at: iso(r.created_at)!,
  updated_at: iso(r.updated_at)!,
});

export const toItem = (r: ItemRow): DatasetItem => ({
  id: r.id,
  dataset_id: r.dataset_id,
  input: r.input,
  expected: r.expected ?? null,
  metadata: r.metadata,
  tags: r.tags,
  source_run_id: r.source_run_id,
  created_at: iso(r.created_at)!,
});

const datasetColumns = `d.id, d.name, d.description, d.version, d.owner, d.visibility, d.created_at, d.updated_at,
  (select count(*) from dataset_items i where i.dataset_id = d.id)::int as item_count`;

/**
 * Datasets of test cases: CRUD, items, bulk import (JSONL, CSV) and export, items made from recorded
 * runs. A dataset is owned by the user who made it and seen by the tenant unless `private`; with a
 * viewer, another user's private dataset is not found (404), whatever is asked of it.
 */
export class DatasetService {
  constructor(private readonly db: Db) {}

  async create(tenantId: string, input: CreateDatasetInput, who: Actor, viewer?: Viewer): Promise<Dataset> {
    const id = newId();
    await this.db.transaction(async (tx) => {
      const [taken] = await tx.query(
        `insert into datasets (id, tenant_id, name, description, owner, visibility) values ($1, $2, $3, $4, $5, $6)
         on conflict (tenant_id, name) do nothing returning id`,
        [
          id,
          tenantId,
          input.name,
          input.description ?? '',
          viewer?.userId ?? null,
          input.visibility ?? 'tenant',
        ],
      );
      if (!taken) throw new AppError('conflict', `a dataset named ${input.name} exists`);
      // Version 1, with or without items: a dataset's history starts when it is made.
      await changeItems(tx, tenantId, id, 'created', async (version) => ({
        added: input.items?.length ? (await insertItems(tx, tenantId, id, version, input.items)).length : 0,
      }));
      await writeJournal(tx, who, { action: 'dataset.create', target: id, data: { name: input.name } });
    });
    return this.get(tenantId, id);
  }

  /** A dataset by id or by name; with a viewer, another user's private one is not found. */
  async get(tenantId: string, ref: string, viewer?: Viewer): Promise<Dataset> {
    const [row] = await this.db.query<DatasetRow>(
      `select ${datasetColumns} from datasets d where d.tenant_id = $1 and ${UUID.test(ref) ? 'd.id = $2::uuid' : 'd.name = $2'}`,
      [tenantId, ref],
    );
    if (!row || !canSee(viewer, row)) throw notFound('dataset', ref);
    return toDataset(row);
  }

  list(tenantId: string, q: PageQuery, viewer?: Viewer) {
    return listPage(
      this.db,
      q,
      {
        select: datasetColumns,
        from: `from datasets d where d.tenant_id = $1 and ${visibleSql(2, 'd.')}`,
        orderBy: 'd.id desc',
        params: [tenantId, visibleParam(viewer)],
      },
      toDataset,
    );
  }

  async update(tenantId: string, ref: string, patch: UpdateDatasetInput, who: Actor, viewer?: Viewer) {
    const current = await this.get(tenantId, ref, viewer);
    const { id } = current;
    if (patch.visibility !== undefined) assertMayChangeVisibility(viewer, current, `dataset ${current.name}`);
    try {
      await this.db.query(
        `update datasets set name = coalesce($3, name), description = coalesce($4, description),
                visibility = coalesce($5, visibility), updated_at = now()
         where tenant_id = $1 and id = $2`,
        [tenantId, id, patch.name ?? null, patch.description ?? null, patch.visibility ?? null],
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('conflict', `a dataset named ${patch.name} exists`);
      throw err;
    }
    await writeJournal(this.db, who, { action: 'dataset.update', target: id, data: patch });
    return this.get(tenantId, id);
  }

  async delete(tenantId: string, ref: string, who: Actor, viewer?: Viewer): Promise<void> {
    const { id } = await this.get(tenantId, ref, viewer);
    await this.db.query('delete from datasets where tenant_id = $1 and id = $2', [tenantId, id]);
    await writeJournal(this.db, who, { action: 'dataset.delete', target: id });
  }

  async addItems(
    tenantId: string,
    ref: string,
    items: readonly NewItem[],
    viewer?: Viewer,
  ): Promise<DatasetItem[]> {
    const { id } = await this.get(tenantId, ref, viewer);
    let rows: ItemRow[] = [];
    await this.db.transaction((tx) =>
      changeItems(tx, tenantId, id, 'items_added', async (version) => {
        rows = await insertItems(tx, tenantId, id, version, items);
        return { added: rows.length };
      }),
    );
    return rows.map(toItem);
  }

  /** Imports the good lines of a parsed JSONL or CSV body as one version; bad ones are named by line number. */
  async import(
    tenantId: string,
    ref: string,
    parsed: Parsed,
    viewer?: Viewer,
  ): Promise<{ imported: number; errors: LineError[] }> {
    const { id } = await this.get(tenantId, ref, viewer);
    if (parsed.items.length > 0) {
      await this.db.transaction((tx) =>
        changeItems(tx, tenantId, id, 'imported', async (version) => {
          for (let i = 0; i < parsed.items.length; i += BATCH)
            await insertItems(tx, tenantId, id, version, parsed.items.slice(i, i + BATCH));
          return { added: parsed.items.length };
        }),
      );
    }
    return { imported: parsed.items.length, errors: parsed.errors };
  }

  /** The items now, or as of `version` (404 for a version the dataset has not reached). */
  async listItems(
    tenantId: string,
    ref: string,
    q: PageQuery & { tag?: string; version?: number },
    viewer?: Viewer,
  ) {
    const dataset = await this.get(tenantId, ref, viewer);
    assertVersion(dataset, q.version);
    return listPage(
      this.db,
      q,
      {
        select: '*',
        from: `from ${itemsAt('$1', q.version === undefined ? null : '$3')} i where ($2::text is null or $2 = any(i.tags))`,
        orderBy: 'id',
        params:
          q.version === undefined ? [dataset.id, q.tag ?? null] : [dataset.id, q.tag ?? null, q.version],
      },
      toItem,
    );
  }

  /** The dataset's versions, newest first: what each changed and how many items it holds. */
  async versions(tenantId: string, ref: string, q: PageQuery, viewer?: Viewer) {
    const { id } = await this.get(tenantId, ref, viewer);
    return listPage(
      this.db,
      q,
      {
        select: 'version, change, added, edited, deleted, item_count, created_at',
        from: 'from dataset_versions where dataset_id = $1',
        orderBy: 'version desc',
        params: [id],
      },
      (r: VersionRow): DatasetVersion => ({ ...r, created_at: iso(r.created_at)! }),
    );
  }

  /**
   * Every item (of `version`, or now), oldest first, read a page of rows at a time as they are
   * asked for (export). The dataset and the version are checked before anything is read.
   */
  async allItems(
    tenantId: string,
    ref: string,
    viewer?: Viewer,
    version?: number,
  ): Promise<{ dataset: Dataset; items: AsyncGenerator<DatasetItem> }> {
    const dataset = await this.get(tenantId, ref, viewer);
    assertVersion(dataset, version);
    // Pinned to a version even when none is asked: pages read while the items change stay one version.
    return { dataset, items: this.pages(dataset.id, version ?? dataset.version) };
  }

  private async *pages(id: string, version: number): AsyncGenerator<DatasetItem> {
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const rows = await this.db.query<ItemRow>(
        `select * from ${itemsAt('$1', '$3')} i where i.id > $2 order by i.id limit 1000`,
        [id, after, version],
      );
      for (const r of rows) yield toItem(r);
      if (rows.length < 1000) return;
      after = rows.at(-1)!.id;
    }
  }

  async getItem(tenantId: string, ref: string, itemId: string, viewer?: Viewer): Promise<DatasetItem> {
    const { id } = await this.get(tenantId, ref, viewer);
    const [row] = await this.db.query<ItemRow>(
      'select * from dataset_items where dataset_id = $1 and id = $2',
      [id, itemId],
    );
    if (!row) throw notFound('dataset item', itemId);
    return toItem(row);
  }

  async updateItem(
    tenantId: string,
    ref: string,
    itemId: string,
    patch: Partial<NewItem>,
    viewer?: Viewer,
  ): Promise<DatasetItem> {
    const item = await this.getItem(tenantId, ref, itemId, viewer);
    let row: ItemRow | undefined;
    await this.db.transaction((tx) =>
      changeItems(tx, tenantId, item.dataset_id, 'item_edited', async (version) => {
        if (!(await keepHistory(tx, item.dataset_id, itemId, version)))
          throw notFound('dataset item', itemId);
        [row] = await tx.query<ItemRow>(
          `update dataset_items set input = $3::jsonb, expected = $4::jsonb, metadata = $5::jsonb, tags = $6::text[],
                  valid_from = $7
           where dataset_id = $1 and id = $2 returning *`,
          [
            item.dataset_id,
            itemId,
            JSON.stringify(patch.input ?? item.input),
            jsonOrNull('expected' in patch ? patch.expected : item.expected),
            JSON.stringify(patch.metadata ?? item.metadata),
            patch.tags ?? item.tags,
            version,
          ],
        );
        return { edited: 1 };
      }),
    );
    return toItem(row!);
  }

  async deleteItem(tenantId: string, ref: string, itemId: string, viewer?: Viewer): Promise<void> {
    const item = await this.getItem(tenantId, ref, itemId, viewer);
    await this.db.transaction((tx) =>
      changeItems(tx, tenantId, item.dataset_id, 'item_deleted', async (version) => {
        if (!(await keepHistory(tx, item.dataset_id, itemId, version)))
          throw notFound('dataset item', itemId);
        await tx.query('delete from dataset_items where dataset_id = $1 and id = $2', [
          item.dataset_id,
          itemId,
        ]);
        return { deleted: 1 };
      }),
    );
  }

  /**
   * An item made from a recorded run: its input (the chat message, or the task's type and payload
   * when the run executed a task) and, unless asked not to, its output as the expected output. The
   * run must be one the viewer may see (404 otherwise, as on GET /v1/runs/{id}); a run of a private
   * agent or session goes only into a private dataset, so copying it never shows it to the tenant.
   */
  async addFromRun(
    tenantId: string,
    ref: string,
    body: {
      run_id: string;
      output_as_expected: boolean;
      /** A corrected expected output, in place of the run's (an annotation queue's reviewer sends it). */
      expected?: unknown;
      metadata?: Record<string, unknown>;
      tags?: string[];
    },
    viewer?: Viewer,
  ): Promise<DatasetItem> {
    const dataset = await this.get(tenantId, ref, viewer);
    const { id } = dataset;
    const [run] = await this.db.query<{
      input: string;
      output: string | null;
      status: string;
      agent_id: string;
      task_type: string | null;
      payload: unknown;
      title: string | null;
      shared: boolean;
    }>(
      // `shared`: a user of the tenant who owns nothing would see it (the visibility rule with no one's id).
      `select r.input, r.output, r.status, r.agent_id, t.task_type, t.payload, t.title,
              ${runVisibleSql(4, 'r.')} as shared
         from runs r left join tasks t on t.id = r.task_id and t.tenant_id = r.tenant_id
        where r.tenant_id = $1 and r.id = $2 and ${runVisibleSql(3, 'r.')}`,
      [tenantId, body.run_id, visibleParam(viewer), ''],
    );
    if (!run) throw notFound('run', body.run_id);
    if (!run.shared && dataset.visibility !== 'private')
      throw new AppError(
        'unprocessable',
        `run ${body.run_id} is of a private agent or session: add it to a private dataset, not to ${dataset.name}, which the tenant sees`,
        {
          details: [
            {
              in: 'body',
              path: 'run_id',
              message: 'a run of a private agent or session; the dataset is shared with the tenant',
            },
          ],
        },
      );
    if (body.expected === undefined && body.output_as_expected && run.output === null)
      throw new AppError(
        'unprocessable',
        `run ${body.run_id} has no output (${run.status}); send output_as_expected: false`,
      );
    const input: ItemInput = run.task_type
      ? { task_type: run.task_type, payload: run.payload ?? {}, ...(run.title && { title: run.title }) }
      : { message: run.input };
    let row: ItemRow | undefined;
    await this.db.transaction((tx) =>
      changeItems(tx, tenantId, id, 'from_run', async (version) => {
        [row] = await insertItems(
          tx,
          tenantId,
          id,
          version,
          [
            {
              input,
              ...(body.expected !== undefined
                ? { expected: body.expected }
                : body.output_as_expected && { expected: run.output }),
              metadata: { ...body.metadata, source_agent_id: run.agent_id },
              tags: body.tags,
            },
          ],
          body.run_id,
        );
        return { added: 1 };
      }),
    );
    return toItem(row!);
  }
}

interface VersionRow {
  version: number;
  change: DatasetVersion['change'];
  added: number;
  edited: number;
  deleted: number;
  item_count: number;
  created_at: Date;
}

/**
 * A dataset's items as of a version, as a subquery with dataset_items' columns: the current rows
 * that took their form by then and the replaced or removed ones that were current then. `version`
 * null: the items now. `dataset` and `version` are SQL (placeholders).
 */
export const itemsAt = (dataset: string, version: string | null) =>
  version === null
    ? `(select * from dataset_items where dataset_id = ${dataset})`
    : `(select id, dataset_id, tenant_id, input, expected, metadata, tags, source_run_id, created_at, valid_from
          from dataset_items where dataset_id = ${dataset} and valid_from <= ${version}
        union all
        select id, dataset_id, tenant_id, input, expected, metadata, tags, source_run_id, created_at, valid_from
          from dataset_item_history where dataset_id = ${dataset} and valid_from <= ${version} and valid_to > ${version})`;

function assertVersion(dataset: Dataset, version: number | undefined): void {
  if (version !== undefined && version > dataset.version)
    throw notFound('dataset version', `${dataset.name}@${version}`);
}

/**
 * One change to a dataset's items as a new version: takes the next number (the row lock on the
 * dataset orders concurrent changes), lets `change` write the items with it, and records what
 * changed and how many items the dataset then holds. Run it inside the transaction of the change.
 */
async function changeItems(
  tx: Queryable,
  tenantId: string,
  datasetId: string,
  change: DatasetVersion['change'],
  write: (version: number) => Promise<{ added?: number; edited?: number; deleted?: number }>,
): Promise<number> {
  const [bumped] = await tx.query<{ version: number }>(
    'update datasets set version = version + 1, updated_at = now() where id = $1 returning version',
    [datasetId],
  );
  if (!bumped) throw notFound('dataset', datasetId);
  const { version } = bumped;
  const counts = await write(version);
  await tx.query(
    `insert into dataset_versions (dataset_id, version, tenant_id, change, added, edited, deleted, item_count)
     values ($1, $2, $3, $4, $5, $6, $7, (select count(*) from dataset_items where dataset_id = $1))`,
    [datasetId, version, tenantId, change, counts.added ?? 0, counts.edited ?? 0, counts.deleted ?? 0],
  );
  return version;
}

/** Copies an item as it is into its history, valid until `version` replaces or removes it; false when gone. */
async function keepHistory(
  tx: Queryable,
  datasetId: string,
  itemId: string,
  version: number,
): Promise<boolean> {
  const kept = await tx.query(
    `insert into dataset_item_history
       (id, dataset_id, tenant_id, input, expected, metadata, tags, source_run_id, created_at, valid_from, valid_to)
     select id, dataset_id, tenant_id, input, expected, metadata, tags, source_run_id, created_at, valid_from, $3
       from dataset_items where dataset_id = $1 and id = $2
     returning id`,
    [datasetId, itemId, version],
  );
  return kept.length > 0;
}

const jsonOrNull = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));

/** One statement per batch: the items' columns as parallel arrays. */
async function insertItems(
  db: Queryable,
  tenantId: string,
  datasetId: string,
  version: number,
  items: readonly NewItem[],
  sourceRunId: string | null = null,
): Promise<ItemRow[]> {
  if (items.length === 0) return [];
  return db.query<ItemRow>(
    `insert into dataset_items (id, dataset_id, tenant_id, input, expected, metadata, tags, source_run_id, valid_from)
     select i.id, $1, $2, i.input, i.expected, i.metadata,
            array(select jsonb_array_elements_text(i.tags)), $8::uuid, $9
       from unnest($3::uuid[], $4::jsonb[], $5::jsonb[], $6::jsonb[], $7::jsonb[])
         as i(id, input, expected, metadata, tags)
     returning *`,
    [
      datasetId,
      tenantId,
      items.map(() => newId()),
      items.map((i) => JSON.stringify(i.input)),
      items.map((i) => jsonOrNull(i.expected)),
      items.map((i) => JSON.stringify(i.metadata ?? {})),
      items.map((i) => JSON.stringify(i.tags ?? [])),
      sourceRunId,
      version,
    ],
  );
}
