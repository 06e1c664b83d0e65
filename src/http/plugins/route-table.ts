import type { FastifyInstance, RouteOptions } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Every route as registered (HEAD twins included): the auth gate's table, the OpenAPI check
     * and the fuzz test read it, so a route added later is covered without touching any of them.
     */
    routeTable: readonly RouteOptions[];
  }
}

/** The one `onRoute` collector. Register it before any route. */
export function registerRouteTable(app: FastifyInstance): void {
  const routeTable: RouteOptions[] = [];
  app.decorate('routeTable', routeTable);
  // Kept by reference: a later onRoute hook (the /docs one) may still adjust a route's options,
  // and Fastify reads the final options only after every hook has run.
  app.addHook('onRoute', (route) => {
    routeTable.push(route);
  });
}
