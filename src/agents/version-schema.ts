import { z } from 'zod';
import { pageFields } from '../db/page.ts';
import { AppError } from '../errors.ts';
import { agentSchema } from './schema.ts';

/** The API shapes of agent versions, their diffs, and version pins (`name@3`, `agent_version`). */

/** What a version keeps: the whole config, without the agent's identity, owner and timestamps. */
export const agentConfigSchema = agentSchema.omit({
  id: true,
  tenant_id: true,
  owner: true,
  version: true,
  created_at: true,
  updated_at: true,
});
export type AgentConfig = z.infer<typeof agentConfigSchema>;
/** The config fields, in the order a diff lists them. */
export const configFields = Object.keys(agentConfigSchema.shape) as (keyof AgentConfig)[];

export const versionNumber = z.coerce.number().int().min(1).max(2_147_483_647);
/** The version a request pins (absent: the latest). */
export const agentVersionField = z
  .number()
  .int()
  .min(1)
  .max(2_147_483_647)
  .describe('run this version of the agent (default: the latest); see GET /v1/agents/{id}/versions');

/** An optional note kept with the version a change makes. */
export const versionMessage = z.string().max(2000).describe('a note kept with the version this change makes');

export const agentVersionSchema = z.object({
  agent_id: z.uuid(),
  version: z.number().int(),
  config: agentConfigSchema,
  /** Who made the change: `key:<id>`, `user:<sub>`, `internal` or `system`. */
  author: z.string(),
  message: z.string().nullable(),
  created_at: z.string(),
});
export type AgentVersion = z.infer<typeof agentVersionSchema>;

export const versionParams = z.object({ id: z.string().min(1).max(200), n: versionNumber }).strict();
export const listVersionsQuery = z.object(pageFields).strict();

export const diffQuery = z
  .object({
    from: versionNumber,
    /** Default: the latest version. */
    to: versionNumber.optional(),
  })
  .strict();

export const fieldChange = z.object({
  field: z.string(),
  from: z.unknown(),
  to: z.unknown(),
  /** Text fields (system prompt, description): a unified diff of the two texts. */
  patch: z.string().optional(),
  /** Text fields: lines added and removed. */
  lines: z.object({ added: z.number().int(), removed: z.number().int() }).optional(),
});
export type FieldChange = z.infer<typeof fieldChange>;

export const versionDiffSchema = z.object({
  agent_id: z.uuid(),
  from: z.number().int(),
  to: z.number().int(),
  /** Only the fields that differ, in the config's order. */
  changes: z.array(fieldChange),
});
export type VersionDiff = z.infer<typeof versionDiffSchema>;

export const rollbackBody = z.object({ message: versionMessage.optional() }).strict();

/**
 * A label's name: `production`, `staging`, `canary-eu`. A letter first, so `name@3` is a version
 * and `name@production` a label with no doubt; lower case, so `@Production` is no second label.
 */
export const labelName = z
  .string()
  .regex(/^[a-z][a-z0-9._-]{0,62}$/, 'a label is a lower-case letter, then up to 62 of a-z 0-9 . _ -')
  .describe('a label: `production`, `staging`, any lower-case slug starting with a letter');

/**
 * An agent reference with an optional pin: `writer@3` (a version), `writer@production` (the version
 * the label points at), or an id followed by either. Names cannot hold `@`, so the split is
 * unambiguous; a part after `@` that is neither a version number nor a label name is a 400.
 */
export function splitVersionPin(ref: string): { ref: string; version?: number; label?: string } {
  const at = ref.lastIndexOf('@');
  if (at < 0) return { ref };
  const tail = ref.slice(at + 1);
  if (labelName.safeParse(tail).success) return { ref: ref.slice(0, at), label: tail };
  if (!/^[1-9][0-9]{0,9}$/.test(tail) || Number(tail) > 2_147_483_647) {
    throw new AppError(
      'validation_error',
      `"${ref}": the part after @ must be a version number or a label (e.g. ${ref.slice(0, at)}@3 or ${ref.slice(0, at)}@production)`,
    );
  }
  return { ref: ref.slice(0, at), version: Number(tail) };
}
