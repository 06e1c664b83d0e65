import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createTemplateBody, templateSchema, updateTemplateBody } from '../../agents/schema.ts';
import { actorOf, principalOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors, errorResponse, hostGuardErrors } from './common.ts';

const tags = ['templates'];
const templateParams = z.object({ id: z.string().min(1).max(100) }).strict();

export const templateRoutes =
  ({ templates }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    // Public: anyone may browse the built-in templates; a caller with credentials also sees its tenant's.
    app.get(
      '/v1/templates',
      {
        config: { auth: 'optional' },
        schema: {
          tags,
          summary: 'List templates',
          security: [],
          response: { 200: z.object({ data: z.array(templateSchema) }), ...hostGuardErrors },
        },
      },
      async (req) => ({ data: await templates.list(req.principal?.tenantId) }),
    );

    app.get(
      '/v1/templates/:id',
      {
        config: { auth: 'optional' },
        schema: {
          tags,
          summary: 'Get a template',
          security: [],
          params: templateParams,
          response: { 200: templateSchema, ...authErrors },
        },
      },
      async (req) => templates.get(req.principal?.tenantId, req.params.id),
    );

    app.post(
      '/v1/templates',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: 'Create a tenant template',
          body: createTemplateBody,
          response: { 201: templateSchema, ...authErrors },
        },
      },
      async (req, reply) =>
        reply.code(201).send(await templates.create(principalOf(req).tenantId, req.body, actorOf(req))),
    );

    app.patch(
      '/v1/templates/:id',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: 'Change a tenant template',
          params: templateParams,
          body: updateTemplateBody,
          response: { 200: templateSchema, ...authErrors },
        },
      },
      async (req) => templates.update(principalOf(req).tenantId, req.params.id, req.body, actorOf(req)),
    );

    app.delete(
      '/v1/templates/:id',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary:
            'Delete a tenant template; 409 naming the agents made from it unless force=true (they keep their values and lose the link)',
          params: templateParams,
          querystring: z.object({ force: z.enum(['true', 'false']).optional() }).strict(),
          response: { 204: z.null(), ...authErrors, 409: errorResponse },
        },
      },
      async (req, reply) => {
        await templates.delete(principalOf(req).tenantId, req.params.id, actorOf(req), {
          force: req.query.force === 'true',
        });
        return reply.code(204).send(null);
      },
    );
  };
