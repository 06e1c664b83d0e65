import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../../config/config.ts';
import type { PoolStats } from '../../db/db.ts';
import { AppError } from '../../errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `false` keeps a route answering under pressure (the health check: it must say why we are busy). */
    shed?: boolean;
  }
}

/**
 * Backpressure at the edge: once the event loop lags (`server.max_event_loop_delay_ms`, measured by
 * @fastify/under-pressure) while requests pile up (`server.shed_min_in_flight` others in flight), or
 * the oldest query waiting for a database connection has waited too long (`store.max_queue_wait_ms`;
 * a burst of quick ones queues, a store that fell behind is not piled on) or too many wait
 * (`store.max_waiting`, a backstop), a new request is
 * refused at once with 503 and Retry-After, before it authenticates (which reads the store too).
 * The delay is the mean of the last second, so it still shows the lag a request just ended made:
 * alone it would refuse a client's next request for its own previous one (a search, an ingest
 * batch), which is why a pile-up is asked for too. What was admitted then waits for a connection
 * (`store.connect_timeout_ms`) instead of failing. Registered before the auth hook.
 */
export async function registerBackpressure(
  app: FastifyInstance,
  config: Config,
  storeLoad: () => PoolStats,
): Promise<void> {
  const exempt = (request: FastifyRequest) => request.routeOptions.config.shed === false;
  const busy = (what: string) =>
    new AppError('unavailable', `the server is busy (${what}); retry later`, {
      retryAfter: config.store.retry_after_seconds,
    });
  // Requests in flight, this one included: counted from arrival until the answer has left.
  let inFlight = 0;
  app.addHook('onRequest', async (_request, reply) => {
    inFlight += 1;
    // `on`, not `once`: a response closes once, and `once` wraps each listener in two more objects.
    reply.raw.on('close', () => {
      inFlight -= 1;
    });
  });
  const pileUp = () => inFlight - 1 >= config.server.shed_min_in_flight;
  await app.register(underPressure, {
    maxEventLoopDelay: config.server.max_event_loop_delay_ms,
    pressureHandler: async (request, _reply, type) => {
      if (exempt(request)) return;
      if (type === 'eventLoopDelay') {
        if (pileUp()) throw busy('event loop delay');
        return;
      }
      throw busy(type);
    },
  });
  const { max_waiting: maxWaiting, max_queue_wait_ms: maxWaitMs } = config.store;
  if (maxWaiting === 0 && maxWaitMs === 0) return;
  app.addHook('onRequest', async (request) => {
    if (exempt(request)) return;
    const load = storeLoad();
    if (maxWaitMs > 0 && load.oldestWaitMs >= maxWaitMs) throw busy('database queue wait');
    if (maxWaiting > 0 && load.waiting >= maxWaiting) throw busy('database connections');
  });
}
