import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { gateBody, labelParams, labelSchema, moveBody, moveResult } from '../../eval/labels/schema.ts';
import { actorOf, principalOf, viewerOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { agentParams, authErrors, errorResponse } from './common.ts';

const tags = ['agents'];

/** Labels on an agent's versions and their release gates (see eval/labels/labels.ts). */
export const agentLabelRoutes =
  ({ labels }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.get(
      '/v1/agents/:id/labels',
      {
        schema: {
          tags,
          summary: "An agent's labels (`production`, `staging`, …): the version each points at, and its gate",
          params: agentParams,
          response: { 200: z.object({ data: z.array(labelSchema) }), ...authErrors },
        },
      },
      async (req) => ({
        data: await labels.list(principalOf(req).tenantId, req.params.id, viewerOf(req)),
      }),
    );

    app.get(
      '/v1/agents/:id/labels/:label',
      {
        schema: {
          tags,
          summary: 'One label of an agent',
          params: labelParams,
          response: { 200: labelSchema, ...authErrors },
        },
      },
      async (req) => labels.get(principalOf(req).tenantId, req.params.id, req.params.label, viewerOf(req)),
    );

    app.put(
      '/v1/agents/:id/labels/:label',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            'Point a label at a version (journaled). A gated label moves only to a version whose newest completed experiment on the gate dataset reaches the gate: 409 with the evidence otherwise, 200 with it when it passes',
          params: labelParams,
          body: moveBody,
          response: { 200: moveResult, ...authErrors, 409: errorResponse },
        },
      },
      async (req) =>
        labels.move(
          principalOf(req).tenantId,
          req.params.id,
          req.params.label,
          req.body.version,
          actorOf(req),
          viewerOf(req),
          req.body.message,
        ),
    );

    app.delete(
      '/v1/agents/:id/labels/:label',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Take a label off its version (journaled); a gated label keeps its gate',
          params: labelParams,
          response: { 204: z.null(), ...authErrors },
        },
      },
      async (req, reply) => {
        await labels.remove(
          principalOf(req).tenantId,
          req.params.id,
          req.params.label,
          actorOf(req),
          viewerOf(req),
        );
        return reply.code(204).send(null);
      },
    );

    app.put(
      '/v1/agents/:id/labels/:label/gate',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary:
            "Set a label's release gate (admin): a dataset, an evaluator (or the mean of all), a threshold, and floors per evaluator",
          params: labelParams,
          body: gateBody,
          response: { 200: labelSchema, ...authErrors },
        },
      },
      async (req) =>
        labels.setGate(
          principalOf(req).tenantId,
          req.params.id,
          req.params.label,
          req.body,
          actorOf(req),
          viewerOf(req),
        ),
    );

    app.delete(
      '/v1/agents/:id/labels/:label/gate',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: "Remove a label's release gate (admin)",
          params: labelParams,
          response: { 204: z.null(), ...authErrors },
        },
      },
      async (req, reply) => {
        await labels.removeGate(
          principalOf(req).tenantId,
          req.params.id,
          req.params.label,
          actorOf(req),
          viewerOf(req),
        );
        return reply.code(204).send(null);
      },
    );
  };
