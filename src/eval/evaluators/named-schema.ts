import { z } from 'zod';
import { pageFields } from '../../db/page.ts';
import { evaluatorNamePattern, evaluatorSpec } from './registry.ts';

/**
 * The API shapes of named evaluators: a tenant's reusable evaluator, its spec one of the kinds'
 * inline specs, every change a new immutable version. Picked by `{"ref": "name"}` or
 * `{"ref": "name@3"}` in experiments, agents' live evaluators and release gates.
 */

export const evaluatorName = z
  .string()
  .regex(
    evaluatorNamePattern,
    'lower-case letters, digits, ".", "_" and "-", starting with a letter or digit',
  )
  // GET /v1/evaluators/kinds lists the kinds: no evaluator may hide behind that path.
  .refine((n) => n !== 'kinds', '`kinds` is taken by GET /v1/evaluators/kinds');

const description = z.string().max(2000);
const message = z.string().max(500);

export const newEvaluatorBody = z
  .object({
    name: evaluatorName,
    description: description.optional(),
    /** One inline evaluator spec (any kind); its score is named after the evaluator. */
    spec: evaluatorSpec,
  })
  .strict();
export type NewEvaluator = z.infer<typeof newEvaluatorBody>;

/** PUT: the whole of the next version. */
export const replaceEvaluatorBody = z
  .object({ description: description.optional(), spec: evaluatorSpec, message: message.optional() })
  .strict();

/** PATCH: what changes in the next version (the rest carried over). */
export const patchEvaluatorBody = z
  .object({
    description: description.optional(),
    spec: evaluatorSpec.optional(),
    message: message.optional(),
  })
  .strict()
  .refine((b) => b.description !== undefined || b.spec !== undefined, 'give description or spec to change');
export type EvaluatorChange = {
  description?: string;
  spec?: z.infer<typeof evaluatorSpec>;
  message?: string;
};

export const namedEvaluatorSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  /** Its newest version: what an unpinned `{"ref": name}` reads. */
  version: z.number().int(),
  spec: z.record(z.string(), z.unknown()),
  created_by: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  /** Set once deleted (its versions stay readable by id: experiments name them). */
  deleted_at: z.string().nullable(),
});
export type NamedEvaluator = z.infer<typeof namedEvaluatorSchema>;

export const evaluatorVersionSchema = z.object({
  evaluator_id: z.uuid(),
  name: z.string(),
  version: z.number().int(),
  description: z.string(),
  spec: z.record(z.string(), z.unknown()),
  message: z.string().nullable(),
  created_by: z.string().nullable(),
  created_at: z.string(),
});
export type EvaluatorVersion = z.infer<typeof evaluatorVersionSchema>;

export const evaluatorParams = z.object({ ref: z.string().min(1).max(200) }).strict();
export const evaluatorVersionParams = z
  .object({ ref: z.string().min(1).max(200), version: z.coerce.number().int().min(1).max(2_147_483_647) })
  .strict();
export const evaluatorListQuery = z.object({ ...pageFields, type: z.string().max(50).optional() }).strict();
