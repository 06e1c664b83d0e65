import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { scaffoldZip } from '../../agents/local-dev/scaffold.ts';
import { localDevAnswer, localDevBody, scaffoldQuery } from '../../agents/local-dev/schema.ts';
import { actorOf, principalOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors } from './common.ts';

const tags = ['local-dev agents'];

export const localDevRoutes =
  ({ deployments }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.get(
      '/v1/agents/scaffold',
      {
        schema: {
          tags,
          summary:
            'A zip of a TypeScript agent project implementing handle(input, ctx), to deploy with agentry deploy',
          operationId: 'getAgentScaffold',
          querystring: scaffoldQuery,
          response: { 200: z.any().describe('application/zip'), ...authErrors },
        },
      },
      async (req, reply) =>
        reply
          .header('content-type', 'application/zip')
          .header('content-disposition', `attachment; filename="${req.query.name}.zip"`)
          .send(Buffer.from(scaffoldZip(req.query.name))),
    );

    app.post(
      '/v1/agents/local-dev',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Create a local-dev agent (source local, env pool); answers where its scaffold is',
          operationId: 'createLocalDevAgent',
          body: localDevBody,
          response: { 201: localDevAnswer, ...authErrors },
        },
      },
      async (req, reply) => {
        const { tenantId, userId } = principalOf(req);
        const agent = await deployments.createAgent(tenantId, req.body, actorOf(req), userId);
        const base = `${req.protocol}://${req.host}`;
        return reply.code(201).send({
          agent,
          scaffold_url: `${base}/v1/agents/scaffold?name=${encodeURIComponent(agent.name)}`,
          deployments_url: `${base}/v1/agents/${agent.id}/deployments`,
        });
      },
    );
  };
