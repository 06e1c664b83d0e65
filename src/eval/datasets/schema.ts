import { z } from 'zod';
import { pageFields } from '../../db/page.ts';

/** The API shapes of datasets and their items. */

/** Who sees a dataset: the tenant (the default), or only its owner and the tenant's admins. */
export const datasetVisibility = z.enum(['private', 'tenant']);

export const datasetName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
    'letters, digits, ".", "_" and "-", starting with a letter or digit',
  );

/** A dataset by id or by name. */
export const datasetRef = z.string().min(1).max(100);
export const datasetParams = z.object({ id: datasetRef }).strict();
export const datasetItemParams = z.object({ id: datasetRef, item_id: z.uuid() }).strict();

/** A chat turn (`message`), or a task (its type and payload) as the agent would get it from the queue. */
export const itemInput = z.union([
  z.object({ message: z.string().min(1).max(200_000) }).strict(),
  z
    .object({
      task_type: z.string().min(1).max(200),
      payload: z.unknown().optional(),
      title: z.string().max(500).optional(),
    })
    .strict(),
]);
export type ItemInput = z.infer<typeof itemInput>;

export const newItem = z
  .object({
    input: itemInput,
    /** What a good answer is, as the evaluators read it: usually a string. */
    expected: z.unknown().optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    tags: z.array(z.string().min(1).max(100)).max(50).optional(),
  })
  .strict();
export type NewItem = z.infer<typeof newItem>;

export const itemPatch = newItem.partial().strict();

export const datasetItem = z.object({
  id: z.uuid(),
  dataset_id: z.uuid(),
  input: itemInput,
  expected: z.unknown(),
  metadata: z.record(z.string(), z.unknown()),
  tags: z.array(z.string()),
  source_run_id: z.uuid().nullable(),
  created_at: z.string(),
});
export type DatasetItem = z.infer<typeof datasetItem>;

export const createDatasetBody = z
  .object({
    name: datasetName,
    description: z.string().max(10_000).optional(),
    /** Items to start with (more through the items and import routes). */
    items: z.array(newItem).max(10_000).optional(),
    visibility: datasetVisibility.optional(),
  })
  .strict();
export type CreateDatasetInput = z.infer<typeof createDatasetBody>;

export const updateDatasetBody = z
  .object({
    name: datasetName.optional(),
    description: z.string().max(10_000).optional(),
    /** Only its owner (or a tenant admin) may change it. */
    visibility: datasetVisibility.optional(),
  })
  .strict();
export type UpdateDatasetInput = z.infer<typeof updateDatasetBody>;

export const datasetSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  item_count: z.number().int(),
  /** Its current version: every change to its items makes the next one (GET …/versions lists them). */
  version: z.number().int(),
  /** The user who made it (null: made before ownership, the tenant's). */
  owner: z.string().nullable(),
  visibility: datasetVisibility,
  created_at: z.string(),
  updated_at: z.string(),
});
export type Dataset = z.infer<typeof datasetSchema>;

/** A dataset version as a query parameter: 1 is the dataset as made. */
const versionParam = z.coerce.number().int().min(1).max(2_147_483_647);

export const listItemsQuery = z
  .object({
    ...pageFields,
    tag: z.string().min(1).max(100).optional(),
    /** The items as they were at this version (absent: now). */
    version: versionParam.optional(),
  })
  .strict();

export const datasetVersion = z.object({
  version: z.number().int(),
  /** What made it: the dataset made, items added, one edited or deleted, an import, a run added. */
  change: z.enum(['created', 'items_added', 'item_edited', 'item_deleted', 'imported', 'from_run']),
  added: z.number().int(),
  edited: z.number().int(),
  deleted: z.number().int(),
  /** Items in the dataset as of this version. */
  item_count: z.number().int(),
  created_at: z.string(),
});
export type DatasetVersion = z.infer<typeof datasetVersion>;

export const exportQuery = z
  .object({
    format: z.enum(['jsonl', 'csv']).default('jsonl'),
    /** The items as they were at this version (absent: now). */
    version: versionParam.optional(),
  })
  .strict();

export const addItemsBody = z.object({ items: z.array(newItem).min(1).max(10_000) }).strict();

export const fromRunBody = z
  .object({
    run_id: z.uuid(),
    /** Keep the run's output as the item's expected output. */
    output_as_expected: z.boolean().default(true),
    metadata: z.record(z.string(), z.unknown()).optional(),
    tags: z.array(z.string().min(1).max(100)).max(50).optional(),
  })
  .strict();

export const importQuery = z.object({ format: z.enum(['jsonl', 'csv']).optional() }).strict();

export const lineError = z.object({ line: z.number().int(), message: z.string() });
export type LineError = z.infer<typeof lineError>;

export const importResult = z.object({
  imported: z.number().int(),
  /** Lines that were not imported, each named by its line number (1-based). */
  errors: z.array(lineError),
});
