import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { tenantPolicySchema } from '../../config/tenant-policy.ts';
import { principalOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors } from './common.ts';

const policyAnswer = z.object({
  tenant: z.object({ id: z.uuid(), name: z.string() }),
  /** `tenant`: its own entry in tenants.yaml; `defaults`: the file's defaults; `builtin`: no file entry. */
  source: z.enum(['tenant', 'defaults', 'builtin']),
  /** When the policies in force were loaded (start or the last successful SIGHUP reload). */
  loaded_at: z.string(),
  policy: tenantPolicySchema,
});

export const policyRoutes =
  ({ policies }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.get(
      '/v1/policy',
      {
        config: { auth: 'read' },
        schema: {
          tags: ['policy'],
          summary:
            "The caller tenant's effective policy from tenants.yaml (budgets, model routing, fail_open)",
          response: { 200: policyAnswer, ...authErrors },
        },
      },
      async (req) => {
        const principal = principalOf(req);
        const { policy, source } = policies.resolve(principal.tenantName);
        return {
          tenant: { id: principal.tenantId, name: principal.tenantName },
          source,
          loaded_at: policies.loadedAt.toISOString(),
          policy,
        };
      },
    );
  };
