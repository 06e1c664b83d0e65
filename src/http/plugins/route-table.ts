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

/**
 * Routes registered by plugins (not by us) that hold no tenant data and must open in a browser
 * without a key: the API docs page and the console's hashed assets.
 */
const publicPrefixes = ['/docs', '/assets/'];

/** The one `onRoute` hook. Register it before any route. */
export function registerRouteTable(app: FastifyInstance): void {
  const routeTable: RouteOptions[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    if (publicPrefixes.some((p) => route.url.startsWith(p)))
      route.config = { ...route.config, auth: 'public' };
    routeTable.push(route);
  });
}
