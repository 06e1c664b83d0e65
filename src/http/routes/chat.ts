import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { agentChatBody, type ChatInput, chatBody, chatResponse } from '../../runtime/schema.ts';
import { callerOf } from '../caller.ts';
import { replyWithRun } from '../run-reply.ts';
import type { Services } from '../services.ts';
import { agentParams, agentPinOf, authErrors, errorResponse } from './common.ts';

const tags = ['chat'];
const responses = {
  200: chatResponse,
  ...authErrors,
  409: errorResponse,
  413: errorResponse,
  422: errorResponse,
  501: errorResponse,
};

/**
 * Chat with an agent: one message in, the agent loop's events out as Server-Sent Events (default)
 * or one JSON answer (`stream: false`). Everything that can be refused (unknown agent or session, a
 * busy session under `reject`, bad input) is refused before the stream opens and before anything is
 * written.
 */
export const chatRoutes =
  ({ runtime, agents, config }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    // Attachments travel inline (base64, 4 characters for 3 bytes): room for the most a message
    // may carry; more than that is refused with a 413 naming the attachment (runtime/attachments.ts).
    const bodyLimit = Math.max(
      config.server.body_limit,
      Math.ceil((config.runtime.max_attachment_bytes * 4) / 3) + 1024 * 1024,
    );

    const chat = async (req: FastifyRequest, reply: FastifyReply, agentRef: string, body: ChatInput) => {
      const { agentId, version } = await agentPinOf(agents, req, agentRef, body.agent_version);
      const handle = await runtime.run(callerOf(req), agentId, { ...body, agent_version: version });
      return replyWithRun(runtime, req, reply, handle, body);
    };

    app.post(
      '/v1/agents/:id/chat',
      {
        config: { auth: 'write' },
        bodyLimit,
        schema: {
          tags,
          summary:
            'Send a message to an agent: SSE (session_start, system, text, tool_call, tool_result, result, session_end) or JSON',
          operationId: 'chatWithAgent',
          params: agentParams,
          body: agentChatBody,
          produces: ['text/event-stream', 'application/json'],
          response: responses,
        },
      },
      async (req, reply) => chat(req, reply, req.params.id, req.body),
    );

    app.post(
      '/v1/chat',
      {
        config: { auth: 'write' },
        bodyLimit,
        schema: {
          tags,
          summary:
            'Send a message to the agent named by agent_config_id (same answers as /v1/agents/:id/chat)',
          body: chatBody,
          produces: ['text/event-stream', 'application/json'],
          response: responses,
        },
      },
      async (req, reply) => {
        const { agent_config_id, ...body } = req.body;
        return chat(req, reply, agent_config_id, body);
      },
    );
  };
