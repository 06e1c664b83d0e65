import type { Db, Queryable } from '../../db/db.ts';
import { newId } from '../../db/ids.ts';
import { iso } from '../../db/iso.ts';
import { listPage, type PageQuery } from '../../db/page.ts';
import { AppError, notFound } from '../../errors.ts';
import { type Actor, writeJournal } from '../../events/journal.ts';
import { parseCsv, parseJsonl } from './parse.ts';
import type { CreateDatasetInput, Dataset, DatasetItem, ItemInput, LineError, NewItem } from './schema.ts';

interface DatasetRow {
  id: string;
  name: string;
  description: string;
  item_count: number;
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

const datasetColumns = `d.id, d.name, d.description, d.created_at, d.updated_at,
  (select count(*) from dataset_items i where i.dataset_id = d.id)::int as item_count`;

/** Datasets of test cases: CRUD, items, bulk import (JSONL, CSV) and export, items made from recorded runs. */
export class DatasetService {
  constructor(private readonly db: Db) {}

  async create(tenantId: string, input: CreateDatasetInput, who: Actor): Promise<Dataset> {
    const id = newId();
    await this.db.transaction(async (tx) => {
      const [taken] = await tx.query(
        `insert into datasets (id, tenant_id, name, description) values ($1, $2, $3, $4)
         on conflict (tenant_id, name) do nothing returning id`,
        [id, tenantId, input.name, input.description ?? ''],
      );
      if (!taken) throw new AppError('conflict', `a dataset named ${input.name} exists`);
      if (input.items?.length) await insertItems(tx, tenantId, id, input.items);
      await writeJournal(tx, who, { action: 'dataset.create', target: id, data: { name: input.name } });
    });
    return this.get(tenantId, id);
  }

  /** A dataset by id or by name. */
  async get(tenantId: string, ref: string): Promise<Dataset> {
    const [row] = await this.db.query<DatasetRow>(
      `select ${datasetColumns} from datasets d where d.tenant_id = $1 and ${UUID.test(ref) ? 'd.id = $2::uuid' : 'd.name = $2'}`,
      [tenantId, ref],
    );
    if (!row) throw notFound('dataset', ref);
    return toDataset(row);
  }

  list(tenantId: string, q: PageQuery) {
    return listPage(
      this.db,
      q,
      {
        select: datasetColumns,
        from: 'from datasets d where d.tenant_id = $1',
        orderBy: 'd.id desc',
        params: [tenantId],
      },
      toDataset,
    );
  }

  async update(tenantId: string, ref: string, patch: { name?: string; description?: string }, who: Actor) {
    const { id } = await this.get(tenantId, ref);
    try {
      await this.db.query(
        `update datasets set name = coalesce($3, name), description = coalesce($4, description), updated_at = now()
         where tenant_id = $1 and id = $2`,
        [tenantId, id, patch.name ?? null, patch.description ?? null],
      );
    } catch (err) {
      if ((err as { code?: string }).code === '23505')
        throw new AppError('conflict', `a dataset named ${patch.name} exists`);
      throw err;
    }
    await writeJournal(this.db, who, { action: 'dataset.update', target: id, data: patch });
    return this.get(tenantId, id);
  }

  async delete(tenantId: string, ref: string, who: Actor): Promise<void> {
    const { id } = await this.get(tenantId, ref);
    await this.db.query('delete from datasets where tenant_id = $1 and id = $2', [tenantId, id]);
    await writeJournal(this.db, who, { action: 'dataset.delete', target: id });
  }

  async addItems(tenantId: string, ref: string, items: readonly NewItem[]): Promise<DatasetItem[]> {
    const { id } = await this.get(tenantId, ref);
    const rows = await this.db.transaction((tx) => insertItems(tx, tenantId, id, items));
    await this.touch(id);
    return rows.map(toItem);
  }

  /** Parses a JSONL or CSV body; good lines are imported, bad ones named by line number. */
  async import(
    tenantId: string,
    ref: string,
    format: 'jsonl' | 'csv',
    text: string,
  ): Promise<{ imported: number; errors: LineError[] }> {
    const { id } = await this.get(tenantId, ref);
    const parsed = format === 'csv' ? parseCsv(text) : parseJsonl(text);
    if (parsed.items.length > 0) {
      await this.db.transaction(async (tx) => {
        for (let i = 0; i < parsed.items.length; i += BATCH)
          await insertItems(tx, tenantId, id, parsed.items.slice(i, i + BATCH));
      });
      await this.touch(id);
    }
    return { imported: parsed.items.length, errors: parsed.errors };
  }

  async listItems(tenantId: string, ref: string, q: PageQuery & { tag?: string }) {
    const { id } = await this.get(tenantId, ref);
    return listPage(
      this.db,
      q,
      {
        select: '*',
        from: 'from dataset_items where dataset_id = $1 and ($2::text is null or $2 = any(tags))',
        orderBy: 'id',
        params: [id, q.tag ?? null],
      },
      toItem,
    );
  }

  /** Every item, oldest first, a page of rows at a time (export, experiments). */
  async *allItems(tenantId: string, ref: string): AsyncGenerator<DatasetItem> {
    const { id } = await this.get(tenantId, ref);
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const rows = await this.db.query<ItemRow>(
        'select * from dataset_items where dataset_id = $1 and id > $2 order by id limit 1000',
        [id, after],
      );
      for (const r of rows) yield toItem(r);
      if (rows.length < 1000) return;
      after = rows.at(-1)!.id;
    }
  }

  async getItem(tenantId: string, ref: string, itemId: string): Promise<DatasetItem> {
    const { id } = await this.get(tenantId, ref);
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
  ): Promise<DatasetItem> {
    const item = await this.getItem(tenantId, ref, itemId);
    const [row] = await this.db.query<ItemRow>(
      `update dataset_items set input = $3::jsonb, expected = $4::jsonb, metadata = $5::jsonb, tags = $6::text[]
       where dataset_id = $1 and id = $2 returning *`,
      [
        item.dataset_id,
        itemId,
        JSON.stringify(patch.input ?? item.input),
        jsonOrNull('expected' in patch ? patch.expected : item.expected),
        JSON.stringify(patch.metadata ?? item.metadata),
        patch.tags ?? item.tags,
      ],
    );
    return toItem(row!);
  }

  async deleteItem(tenantId: string, ref: string, itemId: string): Promise<void> {
    const item = await this.getItem(tenantId, ref, itemId);
    await this.db.query('delete from dataset_items where dataset_id = $1 and id = $2', [
      item.dataset_id,
      itemId,
    ]);
  }

  /**
   * An item made from a recorded run: its input (the chat message, or the task's type and payload
   * when the run executed a task) and, unless asked not to, its output as the expected output.
   */
  async addFromRun(
    tenantId: string,
    ref: string,
    body: {
      run_id: string;
      output_as_expected: boolean;
      metadata?: Record<string, unknown>;
      tags?: string[];
    },
  ): Promise<DatasetItem> {
    const { id } = await this.get(tenantId, ref);
    const [run] = await this.db.query<{
      input: string;
      output: string | null;
      status: string;
      agent_id: string;
      task_type: string | null;
      payload: unknown;
      title: string | null;
    }>(
      `select r.input, r.output, r.status, r.agent_id, t.task_type, t.payload, t.title
         from runs r left join tasks t on t.id = r.task_id and t.tenant_id = r.tenant_id
        where r.tenant_id = $1 and r.id = $2`,
      [tenantId, body.run_id],
    );
    if (!run) throw notFound('run', body.run_id);
    if (body.output_as_expected && run.output === null)
      throw new AppError(
        'unprocessable',
        `run ${body.run_id} has no output (${run.status}); send output_as_expected: false`,
      );
    const input: ItemInput = run.task_type
      ? { task_type: run.task_type, payload: run.payload ?? {}, ...(run.title && { title: run.title }) }
      : { message: run.input };
    const [row] = await insertItems(
      this.db,
      tenantId,
      id,
      [
        {
          input,
          ...(body.output_as_expected && { expected: run.output }),
          metadata: { ...body.metadata, source_agent_id: run.agent_id },
          tags: body.tags,
        },
      ],
      body.run_id,
    );
    await this.touch(id);
    return toItem(row!);
  }

  private async touch(id: string): Promise<void> {
    await this.db.query('update datasets set updated_at = now() where id = $1', [id]);
  }
}

const jsonOrNull = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));

/** One statement per batch: the items' columns as parallel arrays. */
async function insertItems(
  db: Queryable,
  tenantId: string,
  datasetId: string,
  items: readonly NewItem[],
  sourceRunId: string | null = null,
): Promise<ItemRow[]> {
  if (items.length === 0) return [];
  return db.query<ItemRow>(
    `insert into dataset_items (id, dataset_id, tenant_id, input, expected, metadata, tags, source_run_id)
     select i.id, $1, $2, i.input, i.expected, i.metadata,
            array(select jsonb_array_elements_text(i.tags)), $8::uuid
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
    ],
  );
}
