import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/db.ts';
import { doors } from '../doors/registry.ts';
import { buildHttp } from '../http/build.ts';
import { named } from '../http/plugins/named.ts';
import type { Services } from '../http/services.ts';
import type { OutboundNetwork } from '../net/outbound.ts';
import { QueueRunner } from '../tasks/runner.ts';
import type { Closers } from './closers.ts';
import { SCHEDULES_TOPIC } from './domain.ts';

/**
 * Builds the HTTP front door, then starts the runtime and the in-process workers. These three stop
 * as one step, in an order of their own rather than the reverse of starting: runs executing here
 * reach a step boundary and are released to another process, and open streams end first, so the
 * HTTP server can close; the queue's running tasks get most of the grace last. `fleet.role` decides
 * which parts this process runs.
 */
export async function startServing(
  services: Services,
  db: Db,
  closers: Closers,
  network?: OutboundNetwork,
): Promise<FastifyInstance> {
  const { config, log, runtime } = services;
  const grace = config.server.shutdown_grace_seconds;
  const role = config.fleet.role;
  const http =
    role === 'worker'
      ? await buildHttp(services, log, 'health')
      : await buildHttp(
          services,
          log,
          'all',
          Object.entries(doors).flatMap(([name, door]) =>
            door(services).map((plugin) => named(`${name} door`, plugin)),
          ),
        );
  closers.add('runtime, http, queue', async () => {
    // New requests are refused (503, Retry-After) from the start of the drain. Runs drain within
    // runtime.drain_seconds (at most half the grace), then release their leases.
    http.drain.start();
    await runtime.stop(grace * 500);
    await http.drain.close();
    // Most of the shutdown grace goes to running tasks; the rest is handed back, not lost.
    await services.queue?.stop(grace * 800);
  });
  await runtime.start();
  // An API process claims nothing: the worker processes of the fleet run the queue.
  if (role !== 'api' && config.tasks.workers > 0) {
    services.queue = new QueueRunner({
      db,
      bus: services.bus,
      log,
      handlers: services.taskHandlers,
      metrics: services.queueMetrics,
      tasks: config.tasks,
      policies: services.policies,
      secrets: services.callbackSecrets,
      network,
      role,
    });
    await services.queue.start();
    // A schedule changed through any process of the fleet: look at the schedules again now.
    const queue = services.queue;
    const unsubscribe = await services.bus.subscribe(SCHEDULES_TOPIC, () => queue.scheduler.wake());
    closers.add('schedule wake-ups', unsubscribe);
  }
  return http;
}
