import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageOf, pageQuery } from '../../db/page.ts';
import { createScheduleBody, scheduleSchema, updateScheduleBody } from '../../tasks/schedule-rows.ts';
import { actorOf, principalOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { agentIdOf, authErrors, errorResponse, idParams } from './common.ts';

const tags = ['schedules'];
const page = pageOf(scheduleSchema);
const errors = { ...authErrors, 409: errorResponse };

export const scheduleRoutes =
  ({ schedules, agents }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.post(
      '/v1/schedules',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Create a schedule (cron with time zone, or a fixed interval) that creates tasks',
          body: createScheduleBody,
          response: { 201: scheduleSchema, ...errors },
        },
      },
      async (req, reply) =>
        reply
          .code(201)
          .send(
            await schedules.create(
              principalOf(req).tenantId,
              { ...req.body, agent_id: await agentIdOf(agents, req, req.body.agent_id) },
              actorOf(req),
            ),
          ),
    );

    app.get(
      '/v1/schedules',
      {
        schema: {
          tags,
          summary: 'List schedules',
          querystring: pageQuery,
          response: { 200: page, ...errors },
        },
      },
      async (req) => schedules.list(principalOf(req).tenantId, req.query),
    );

    app.get(
      '/v1/schedules/:id',
      {
        schema: {
          tags,
          summary: 'Get a schedule',
          params: idParams,
          response: { 200: scheduleSchema, ...errors },
        },
      },
      async (req) => schedules.get(principalOf(req).tenantId, req.params.id),
    );

    app.patch(
      '/v1/schedules/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Change the fields sent; a new timing sets the next run from now',
          params: idParams,
          body: updateScheduleBody,
          response: { 200: scheduleSchema, ...errors },
        },
      },
      async (req) => {
        const { agent_id: ref, ...body } = req.body;
        const agent_id = ref === undefined ? undefined : await agentIdOf(agents, req, ref);
        return schedules.update(
          principalOf(req).tenantId,
          req.params.id,
          { ...body, ...(agent_id && { agent_id }) },
          actorOf(req),
        );
      },
    );

    for (const action of ['pause', 'resume'] as const) {
      app.post(
        `/v1/schedules/:id/${action}`,
        {
          config: { auth: 'write' },
          schema: {
            tags,
            summary: action === 'pause' ? 'Stop creating tasks' : 'Start again from the next tick after now',
            params: idParams,
            response: { 200: scheduleSchema, ...errors },
          },
        },
        async (req) => schedules[action](principalOf(req).tenantId, req.params.id, actorOf(req)),
      );
    }

    app.delete(
      '/v1/schedules/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Delete a schedule',
          params: idParams,
          response: { 204: z.null(), ...errors },
        },
      },
      async (req, reply) => {
        await schedules.delete(principalOf(req).tenantId, req.params.id, actorOf(req));
        return reply.code(204).send(null);
      },
    );
  };
