import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { clientJsonSchema } from '../../text/client-schema.ts';
import { authErrors } from './common.ts';

const checkBody = z.object({ schema: clientJsonSchema() }).strict();

/**
 * POST /v1/json-schemas/check: whether a JSON Schema would be accepted where the API takes one to
 * check answers or payloads against (an agent's answer format, a task type's input schema). The
 * console asks while the user types: compiling a schema generates code (ajv), which the console's
 * CSP forbids in the page, so the same rule runs here. A refusal is the 400 every such route gives,
 * its path under `schema`.
 */
export const jsonSchemaRoutes = (): FastifyPluginAsync => async (fastify) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.post(
    '/v1/json-schemas/check',
    {
      config: { auth: 'read' },
      schema: {
        tags: ['json-schemas'],
        summary:
          'Check a JSON Schema by the rules of every route that takes one (bounds, and that it compiles)',
        body: checkBody,
        response: { 200: z.object({ ok: z.literal(true) }), ...authErrors },
      },
    },
    async () => ({ ok: true as const }),
  );
};
