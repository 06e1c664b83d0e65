import { z } from 'zod';
import { agentName, agentSchema, createAgentBody } from '../schema.ts';

/** Largest bundle accepted: the route's body limit is set a little above it. */
export const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

export const deployBody = z
  .object({
    /** One ES module for Node 20 exporting `handle` (what `agentry deploy` builds with esbuild). */
    bundle: z.string().min(1).max(MAX_BUNDLE_BYTES),
  })
  .strict();

export const deploymentSchema = z.object({
  id: z.uuid(),
  agent_id: z.uuid(),
  version: z.number().int(),
  sha256: z.string(),
  size_bytes: z.number().int(),
  /** The newest deployment serves the agent's chats and tasks. */
  current: z.boolean(),
  created_by: z.string().nullable(),
  created_at: z.string(),
});
export type Deployment = z.infer<typeof deploymentSchema>;

export const deploymentList = z.object({ data: z.array(deploymentSchema) });

/**
 * An agent whose code is deployed from a local project: source and env are set by the server. Its
 * budget is an admin's to set afterwards (PATCH /v1/agents/{id}), not the deploying key's.
 */
export const localDevBody = createAgentBody.omit({
  source: true,
  env: true,
  template_id: true,
  budget: true,
});
export type LocalDevInput = z.infer<typeof localDevBody>;

export const localDevAnswer = z.object({
  agent: agentSchema,
  /** GET it for the project to start from (a zip). */
  scaffold_url: z.string(),
  /** POST bundles here (`agentry deploy` does). */
  deployments_url: z.string(),
});

export const scaffoldQuery = z.object({ name: agentName.default('my-agent') }).strict();
