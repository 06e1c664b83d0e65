import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../../config/config.ts';
import type { Db } from '../../db/db.ts';
import { AppError } from '../../errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `false` keeps a route answering under pressure (the health check: it must say why we are busy). */
    shed?: boolean;
  }
}

/**
 * Backpressure at the edge: once the event loop lags (`server.max_event_loop_delay_ms`, measured by
 * @fastify/under-pressure) or too many queries already wait for a database connection
 * (`store.max_waiting`), a new request is refused at once with 503 and Retry-After, before it
 * authenticates (which reads the store too). What was admitted then waits for a connection
 * (`store.connect_timeout_ms`) instead of failing. Registered before the auth hook.
 */
export async function registerBackpressure(app: FastifyInstance, config: Config, db: Db): Promise<void> {
  const exempt = (request: FastifyRequest) => request.routeOptions.config.shed === false;
  const busy = (what: string) =>
    new AppError('unavailable', `the server is busy (${what}); retry later`, {
      retryAfter: config.store.retry_after_seconds,
    });
  await app.register(underPressure, {
    maxEventLoopDelay: config.server.max_event_loop_delay_ms,
    pressureHandler: async (request, _reply, type) => {
      if (!exempt(request)) throw busy(type === 'eventLoopDelay' ? 'event loop delay' : type);
    },
  });
  const maxWaiting = config.store.max_waiting;
  if (maxWaiting === 0) return;
  app.addHook('onRequest', async (request) => {
    if (!exempt(request) && db.poolStats().waiting >= maxWaiting) throw busy('database connections');
  });
}
