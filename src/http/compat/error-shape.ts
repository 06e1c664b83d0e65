import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ErrorBody } from '../plugins/errors.ts';

/**
 * A compatibility family answers errors in its own body, on its own routes only. Every error is
 * made once, in Agentry's format, by the errors plugin (auth, validation and domain errors alike);
 * this hook rewrites that body on the way out, so no route of the family can miss it.
 */
export function familyErrors(
  app: FastifyInstance,
  render: (error: ErrorBody, reply: FastifyReply) => Record<string, unknown>,
): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode < 400 || typeof payload !== 'string') return payload;
    let body: ErrorBody;
    try {
      body = JSON.parse(payload) as ErrorBody;
    } catch {
      return payload;
    }
    if (!body?.error || typeof body.error !== 'object') return payload;
    return JSON.stringify(render(body, reply));
  });
}
