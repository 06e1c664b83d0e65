import { z } from 'zod';
import {
  type Agent,
  type AgentEnv,
  agentModes,
  agentName,
  type Template,
  visibilities,
} from '../../agents/schema.ts';

// isA's agent config fields (isa-agent-creation.md), their views, and their mapping onto Agentry's agent.

/**
 * isA's `env` values onto Agentry's agent environments: `in_process` and `cloud_shared` (isA's name
 * for its SDK called in process, kept as written) are the loop here; `cloud_pool` is Agentry's own
 * `cloud_pool` (the loop, holding a sandbox of the tools' warm pool for the run, as isA took a VM of
 * its warm pool); `deployment` is a local-dev agent (`pool`); `multi_agent` answers with the
 * multi-agent spec its `multi_spec_id` names, as isA's MultiAgentRunner did.
 */
const isaEnvs = ['in_process', 'cloud_shared', 'cloud_pool', 'deployment', 'multi_agent'] as const;
const agentEnvOf = {
  in_process: 'in_process',
  cloud_shared: 'cloud_shared',
  cloud_pool: 'cloud_pool',
  deployment: 'pool',
  multi_agent: 'multi_agent',
} as const;
/** An agent's environment as isA names it; environments isA has no name for show as Agentry's. */
const isaEnvOf = (env: AgentEnv): string => (env === 'pool' ? 'deployment' : env);

const configFields = {
  name: agentName,
  description: z.string().max(2000),
  model_id: z.string().min(1).max(200),
  system_prompt: z.string().max(100_000),
  tools: z.array(z.string().min(1).max(200)).max(200),
  skills: z.array(z.string().min(1).max(200)).max(200),
  mode: z.enum(agentModes),
  env: z.enum(isaEnvs),
  /** Agentry's: `private` (its owner and the tenant's admins), `tenant`, `public` (published to A2A). */
  visibility: z.enum(visibilities),
  metadata: z.record(z.string(), z.unknown()),
  /** The multi-agent spec an `env: multi_agent` config runs (`/api/v1/agents/multi-specs`). */
  multi_spec_id: z.uuid().nullable(),
};
export const createConfig = z
  .object({
    ...configFields,
    template_id: z.string().min(1).max(100),
    source: z.enum(['basic', 'template', 'generated', 'local']),
  })
  .partial()
  .required({ name: true })
  .strict();
export const updateConfig = z.object(configFields).partial().strict();

export const configView = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  model_id: z.string(),
  system_prompt: z.string(),
  tools: z.array(z.string()),
  skills: z.array(z.string()),
  mode: z.string(),
  env: z.string(),
  visibility: z.enum(visibilities),
  source: z.string(),
  template_id: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  owner_id: z.string().nullable(),
  multi_spec_id: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const templateView = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  model_id: z.string().nullable(),
  system_prompt: z.string(),
  tools: z.array(z.string()),
  skills: z.array(z.string()),
  mode: z.string(),
  env: z.string(),
});

export const viewConfig = (a: Agent) => ({
  id: a.id,
  name: a.name,
  description: a.description,
  model_id: a.model,
  system_prompt: a.system_prompt,
  tools: a.tools,
  skills: a.skills,
  mode: a.mode,
  env: isaEnvOf(a.env),
  visibility: a.visibility,
  source: a.source,
  template_id: a.template_id,
  metadata: a.metadata,
  owner_id: a.owner,
  multi_spec_id: a.multi_agent_id,
  created_at: a.created_at,
  updated_at: a.updated_at,
});

export const viewTemplate = (t: Template) => ({
  id: t.id,
  name: t.name,
  description: t.description,
  model_id: t.model,
  system_prompt: t.system_prompt,
  tools: t.tools,
  skills: t.skills,
  mode: t.mode,
  env: isaEnvOf(t.env),
});

/**
 * isA's config fields as Agentry's; only fields the client sent are passed, so a template fills the
 * rest. `metadata` is the client's own, kept exactly as sent.
 */
export function toAgentFields(body: z.infer<typeof updateConfig>) {
  const { model_id, env, multi_spec_id, ...rest } = body;
  return {
    ...rest,
    ...(multi_spec_id === undefined ? {} : { multi_agent_id: multi_spec_id }),
    ...(model_id === undefined ? {} : { model: model_id }),
    ...(env === undefined ? {} : { env: agentEnvOf[env] }),
  };
}
