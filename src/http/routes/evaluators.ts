import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageOf, pageQuery } from '../../db/page.ts';
import {
  evaluatorListQuery,
  evaluatorParams,
  evaluatorVersionParams,
  evaluatorVersionSchema,
  namedEvaluatorSchema,
  newEvaluatorBody,
  patchEvaluatorBody,
  replaceEvaluatorBody,
} from '../../eval/evaluators/named-schema.ts';
import { describeKinds, evaluatorKindSchema } from '../../eval/evaluators/registry.ts';
import { actorOf, principalOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors, errorResponse } from './common.ts';

const tags = ['evaluators'];
const errors = { ...authErrors, 409: errorResponse };

/**
 * The evaluator kinds, and a tenant's named evaluators: reusable specs with immutable versions,
 * picked by `{"ref": "name"}` or `{"ref": "name@3"}` in experiments, live evaluators and gates.
 */
export const evaluatorRoutes =
  ({ evaluators }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.get(
      '/v1/evaluators/kinds',
      {
        schema: {
          tags,
          summary: 'The evaluator kinds, with their parameters as JSON Schema',
          response: { 200: z.object({ data: z.array(evaluatorKindSchema) }), ...authErrors },
        },
      },
      async () => ({ data: describeKinds() }),
    );

    app.post(
      '/v1/evaluators',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            'Name an evaluator (any kind\'s inline spec) for reuse by `{"ref": name}`; it starts at version 1',
          body: newEvaluatorBody,
          response: { 201: namedEvaluatorSchema, ...errors },
        },
      },
      async (req, reply) =>
        reply.code(201).send(await evaluators.create(principalOf(req).tenantId, req.body, actorOf(req))),
    );

    app.get(
      '/v1/evaluators',
      {
        schema: {
          tags,
          summary:
            "The tenant's named evaluators by name, each with its newest version (`type`: of one kind)",
          querystring: evaluatorListQuery,
          response: { 200: pageOf(namedEvaluatorSchema), ...authErrors },
        },
      },
      async (req) => evaluators.list(principalOf(req).tenantId, req.query),
    );

    app.get(
      '/v1/evaluators/:ref',
      {
        schema: {
          tags,
          summary: 'A named evaluator by id (deleted ones too) or by name, with its newest version',
          params: evaluatorParams,
          response: { 200: namedEvaluatorSchema, ...authErrors },
        },
      },
      async (req) => evaluators.get(principalOf(req).tenantId, req.params.ref),
    );

    app.put(
      '/v1/evaluators/:ref',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Make the next version from a whole spec (earlier versions never change)',
          params: evaluatorParams,
          body: replaceEvaluatorBody,
          response: { 200: namedEvaluatorSchema, ...errors },
        },
      },
      async (req) =>
        evaluators.update(
          principalOf(req).tenantId,
          req.params.ref,
          // The whole version: a description left out is an empty one, not the last one's.
          { ...req.body, description: req.body.description ?? '' },
          actorOf(req),
        ),
    );

    app.patch(
      '/v1/evaluators/:ref',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Make the next version changing its description or spec (the rest carried over)',
          params: evaluatorParams,
          body: patchEvaluatorBody,
          response: { 200: namedEvaluatorSchema, ...errors },
        },
      },
      async (req) => evaluators.update(principalOf(req).tenantId, req.params.ref, req.body, actorOf(req)),
    );

    app.get(
      '/v1/evaluators/:ref/versions',
      {
        schema: {
          tags,
          summary: "A named evaluator's versions, newest first",
          params: evaluatorParams,
          querystring: pageQuery,
          response: { 200: pageOf(evaluatorVersionSchema), ...authErrors },
        },
      },
      async (req) => evaluators.versions(principalOf(req).tenantId, req.params.ref, req.query),
    );

    app.get(
      '/v1/evaluators/:ref/versions/:version',
      {
        schema: {
          tags,
          summary: 'One version of a named evaluator, as it was written',
          params: evaluatorVersionParams,
          response: { 200: evaluatorVersionSchema, ...authErrors },
        },
      },
      async (req) => evaluators.version(principalOf(req).tenantId, req.params.ref, req.params.version),
    );

    app.delete(
      '/v1/evaluators/:ref',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            "Delete a named evaluator (its name is free again; experiments keep what they ran); 409 while an agent's live evaluators or a label's gate refer to it",
          params: evaluatorParams,
          response: { 204: z.null(), ...errors },
        },
      },
      async (req, reply) => {
        await evaluators.remove(principalOf(req).tenantId, req.params.ref, actorOf(req));
        return reply.code(204).send(null);
      },
    );
  };
