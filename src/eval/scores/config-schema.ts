import { z } from 'zod';
import { pageFields } from '../../db/page.ts';

/**
 * The API shapes of score configs: what a score of a name may be. `numeric` is a number in an
 * optional inclusive range, `categorical` one of named categories (each with the number it counts
 * as), `boolean` true or false (counted 1 and 0). A config's kind and values never change once
 * made (scores were checked against them); a different scale is a new config.
 */

export const scoreConfigKinds = ['numeric', 'categorical', 'boolean'] as const;

/** A score's name, and a config's: the same rule, so a config can name the scores it governs. */
export const scoreName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, 'letters, digits, ".", "_", ":" and "-"');

const category = z
  .object({
    label: z.string().trim().min(1).max(100),
    value: z.number().finite(),
  })
  .strict();

export const newScoreConfigBody = z
  .object({
    name: scoreName,
    kind: z.enum(scoreConfigKinds),
    description: z.string().max(2000).optional(),
    /** numeric: the lowest value allowed (inclusive); none: no lower bound. */
    min: z.number().finite().optional(),
    /** numeric: the highest value allowed (inclusive); none: no upper bound. */
    max: z.number().finite().optional(),
    /** categorical: the categories, each a label and the number it counts as. */
    categories: z.array(category).min(2).max(50).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (c.kind !== 'numeric') {
      if (c.min !== undefined) issue('min', `only a numeric config has a range, not a ${c.kind} one`);
      if (c.max !== undefined) issue('max', `only a numeric config has a range, not a ${c.kind} one`);
    } else if (c.min !== undefined && c.max !== undefined && c.min > c.max) {
      issue('max', 'max must be at least min');
    }
    if (c.kind === 'categorical') {
      if (!c.categories)
        return issue('categories', 'a categorical config needs its categories (two or more)');
      const labels = new Set(c.categories.map((x) => x.label));
      if (labels.size !== c.categories.length) issue('categories', 'each category needs its own label');
    } else if (c.categories !== undefined) {
      issue('categories', `only a categorical config has categories, not a ${c.kind} one`);
    }
  });
export type NewScoreConfig = z.infer<typeof newScoreConfigBody>;

/** What may change: the description, and whether it is archived (kind and values never change). */
export const scoreConfigPatch = z
  .object({
    description: z.string().max(2000).optional(),
    /** true archives the config (new scores cannot name it); false brings it back. */
    archived: z.boolean().optional(),
  })
  .strict();
export type ScoreConfigPatch = z.infer<typeof scoreConfigPatch>;

export const scoreConfigSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  kind: z.enum(scoreConfigKinds),
  description: z.string(),
  min: z.number().nullable(),
  max: z.number().nullable(),
  categories: z.array(z.object({ label: z.string(), value: z.number() })).nullable(),
  created_by: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  archived_at: z.string().nullable(),
});
export type ScoreConfig = z.infer<typeof scoreConfigSchema>;

/** A config by id or by name (a name finds the live config of that name). */
export const scoreConfigRef = z.string().min(1).max(100);
export const scoreConfigParams = z.object({ id: scoreConfigRef }).strict();

export const scoreConfigListQuery = z
  .object({
    ...pageFields,
    /** Include archived configs. */
    archived: z.enum(['true', 'false']).optional(),
  })
  .strict();
