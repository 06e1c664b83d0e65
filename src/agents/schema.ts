import { z } from 'zod';
import { budgetLimits } from '../config/tenant-policy.ts';
import { pageFields } from '../db/page.ts';
import { responseFormatSchema } from '../models/structured-output.ts';
import { clientJsonSchema } from '../text/client-schema.ts';

/**
 * The API shapes of agent configs, templates and multi-agent specs. Input schemas carry no
 * defaults on purpose: the service must know which fields the client actually sent, so that a
 * template's value is only overridden by a field that is present in the request.
 */
const idPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An agent reference that is an id; anything else is a name (a name cannot take an id's shape). */
export const isAgentId = (ref: string) => idPattern.test(ref);

export const agentName = z
  .string()
  .regex(
    /^[A-Za-z0-9](?:[A-Za-z0-9 _.-]{0,62}[A-Za-z0-9_.-])?$/,
    'letters, digits, spaces, "_", "." and "-", starting with a letter or digit, not ending with a space, at most 64',
  )
  .refine((name) => !isAgentId(name), 'a name cannot have the shape of an id (agents are found by either)');

/** An agent by id or by name (names are unique per tenant, matched whatever their case). */
export const agentRef = z.string().min(1).max(200).describe('an agent id, or its name (any case)');

export const agentModes = ['REACTIVE', 'COLLABORATIVE'] as const;
/**
 * Where an agent's runs execute: `in_process`, the loop here (`cloud_shared` too: isA's name for
 * it, which its clients read back as they wrote it); `cloud_pool`, the loop here while the
 * run holds a sandbox of the tools' warm pool (capacity kept for it, as a VM of a warm pool is kept
 * for a chat); `pool`, a deployed local-dev bundle; `remote`, an HTTP runtime; `multi_agent`, a team;
 * `a2a`, a remote A2A agent.
 */
export const agentEnvs = [
  'in_process',
  'cloud_shared',
  'cloud_pool',
  'pool',
  'remote',
  'multi_agent',
  'a2a',
] as const;
export type AgentEnv = (typeof agentEnvs)[number];
export const agentSources = ['basic', 'template', 'generated', 'local'] as const;
/** `public`: published to A2A (a card for discovery and a JSON-RPC endpoint; see doors/a2a). */
export const visibilities = ['private', 'tenant', 'public'] as const;

const shortText = z.string().max(2000);
const names = z.array(z.string().min(1).max(200)).max(200);

/** JSON Schema a task payload must satisfy, refused now (400) when out of bounds or not compilable. */
const inputSchema = clientJsonSchema();

export const taskTypeSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'snake_case, at most 64 characters'),
    description: shortText.optional(),
    /** JSON Schema the task payload must satisfy (its patterns: RE2 syntax, no lookaround). */
    input_schema: inputSchema.optional(),
    /** Rendered with the task's title, description and payload to form the agent's instruction. */
    prompt_template: z.string().max(100_000).optional(),
    /**
     * What becomes of its tasks when they succeed: `keep` (absent) keeps them `completed`; `delete`
     * deletes them, for high-volume work (their callback and `completed` event still go out). The
     * queue's `Retention` (tasks/schema.ts) reads it; app.ts's plugging checks the two agree.
     */
    retention: z
      .enum(['keep', 'delete'])
      .optional()
      .describe('keep (default): a succeeded task stays; delete: it is deleted once it succeeds'),
  })
  .strict();
export type TaskType = z.infer<typeof taskTypeSchema>;

const taskTypes = z
  .array(taskTypeSchema)
  .max(100)
  .refine((list) => new Set(list.map((t) => t.name)).size === list.length, 'task type names must be unique');

export const agentFields = {
  name: agentName,
  description: shortText,
  model: z.string().min(1).max(200),
  system_prompt: z.string().max(100_000),
  tools: names,
  skills: names,
  mode: z.enum(agentModes),
  env: z.enum(agentEnvs),
  knowledge: names,
  task_types: taskTypes,
  handoffs: z.array(agentName).max(100),
  visibility: z.enum(visibilities),
  metadata: z.record(z.string(), z.unknown()),
  runtime_url: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .nullable(),
  multi_agent_id: z.uuid().nullable(),
  /**
   * The agent's own budget, the shape of tenants.yaml's `budgets.agents.<name>`. Setting, changing
   * or clearing it needs the admin scope (a key must not lift its own cap). Where tenants.yaml has an
   * entry for the agent too, the stricter limit of each applies; null leaves tenants.yaml alone.
   */
  budget: budgetLimits
    .nullable()
    .describe(
      "the agent's own budget (admin scope to set); with a tenants.yaml entry for the agent, the stricter limit of each applies",
    ),
  /**
   * Structured output for every answer of the agent (OpenAI's `response_format`): JSON mode or a
   * JSON Schema. The final answer is checked; an invalid one is asked for again once, then the run
   * fails with `invalid_output`. A chat request's own `response_format` replaces it for that run.
   */
  response_format: responseFormatSchema
    .nullable()
    .describe('structured output for every answer: json_object or json_schema (checked; null: free text)'),
};

export const createAgentBody = z
  .object({
    ...agentFields,
    source: z.enum(agentSources),
    template_id: z.string().min(1).max(100),
  })
  .partial()
  .required({ name: true })
  .strict();
export type CreateAgentInput = z.infer<typeof createAgentBody>;

export const updateAgentBody = z.object(agentFields).partial().strict();
export type UpdateAgentInput = z.infer<typeof updateAgentBody>;

export const agentSchema = z.object({
  id: z.uuid(),
  tenant_id: z.uuid(),
  ...agentFields,
  source: z.enum(agentSources),
  template_id: z.string().nullable(),
  /** The user who made it; a `private` agent is seen only by them and the tenant's admins. */
  owner: z.string().nullable(),
  version: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Agent = z.infer<typeof agentSchema>;

export const listAgentsQuery = z
  .object({
    ...pageFields,
    /** Case-insensitive substring of the name. */
    name: z.string().max(200).optional(),
    source: z.enum(agentSources).optional(),
  })
  .strict();
export type ListAgentsQuery = z.infer<typeof listAgentsQuery>;

// ---- templates

const templateFields = {
  name: z.string().min(1).max(200),
  description: shortText,
  model: z.string().min(1).max(200).nullable(),
  system_prompt: z.string().max(100_000),
  tools: names,
  skills: names,
  mode: z.enum(agentModes),
  env: z.enum(agentEnvs),
  task_types: taskTypes,
  metadata: z.record(z.string(), z.unknown()),
};

export const createTemplateBody = z.object(templateFields).partial().required({ name: true }).strict();
export type CreateTemplateInput = z.infer<typeof createTemplateBody>;
export const updateTemplateBody = z.object(templateFields).partial().strict();
export type UpdateTemplateInput = z.infer<typeof updateTemplateBody>;

export const templateSchema = z.object({
  id: z.string(),
  builtin: z.boolean(),
  ...templateFields,
  version: z.number().int(),
  created_at: z.string().nullable(),
  updated_at: z.string().nullable(),
});
export type Template = z.infer<typeof templateSchema>;

// ---- multi-agent specs

export const multiAgentKinds = ['swarm', 'dag'] as const;
const edge = z.object({ from: z.uuid(), to: z.uuid() }).strict();
const edgeRef = z.object({ from: agentRef, to: agentRef }).strict();

const multiAgentFields = {
  name: z.string().min(1).max(200),
  description: shortText,
  kind: z.enum(multiAgentKinds),
  /** Agent ids, in order; the first is the entry when no entry_agent_id is given. */
  members: z.array(z.uuid()).max(100),
  entry_agent_id: z.uuid(),
  /** DAG edges between member agents: the output of `from` flows into `to`. */
  edges: z.array(edge).max(1000),
  /** Run settings, e.g. `max_handoffs` for swarms. */
  config: z.record(z.string(), z.unknown()),
};

/** What a client sends: agents by id or name (the service stores ids). */
const multiAgentInputFields = {
  ...multiAgentFields,
  /** Agents by id or name; `name@3` (or `id@3`) pins a member to version 3. */
  members: z.array(agentRef).max(100),
  entry_agent_id: agentRef,
  edges: z.array(edgeRef).max(1000),
};

export const createMultiAgentBody = z
  .object(multiAgentInputFields)
  .partial()
  .required({ name: true, kind: true, members: true })
  .strict();
export type CreateMultiAgentInput = z.infer<typeof createMultiAgentBody>;
export const updateMultiAgentBody = z.object(multiAgentInputFields).partial().strict();
export type UpdateMultiAgentInput = z.infer<typeof updateMultiAgentBody>;

export const multiAgentSchema = z.object({
  id: z.uuid(),
  tenant_id: z.uuid(),
  ...multiAgentFields,
  /** Members pinned to a version (`writer@3` in `members`): agent id -> version; others run their latest. */
  member_versions: z.record(z.string(), z.number().int()),
  version: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type MultiAgentSpec = z.infer<typeof multiAgentSchema>;
