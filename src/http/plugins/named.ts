import type { FastifyPluginAsync } from 'fastify';

/**
 * The plugin, carrying the name Fastify and its loader (avvio) show for it in errors and the plugin
 * tree. Without one, Fastify looks for an unnamed plugin among the exports of every loaded CommonJS
 * module, twice per registration (~700 modules at a start: ~25 ms over the API's ~50 route
 * plugins), and avvio names it by the first lines of its source.
 */
export function named<T extends FastifyPluginAsync>(name: string, plugin: T): T {
  Object.defineProperty(plugin, 'name', { value: name });
  return Object.defineProperty(plugin, Symbol.for('fastify.display-name'), { value: name });
}
