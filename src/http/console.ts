import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { pages } from '../../web/src/app/pages.ts';
import type { SignInLinks } from '../auth/sign-in-links.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** One-time codes for the console's sign-in link (`agentry serve` prints one). */
    signInLinks: SignInLinks;
    /** The console's page answered with a 404, when the console is built (registerConsole). */
    consoleNotFound?: (reply: FastifyReply) => unknown;
  }
}

/** Where `npm install` (scripts/build-web.mjs) leaves the built console. */
export const consoleDist = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/**
 * The console's pages, from its page registry (web/src/app/pages.ts, which its router reads too):
 * each path and everything below it answers index.html, and the console's router draws the page;
 * any other path, /v1 and the compatibility routes included, keeps answering the JSON 404 of the API.
 */
export const consolePaths = pages.map((p) => p.path);

/**
 * No inline script or style, nothing from another origin: the console only talks to this server.
 * (React sets styles through the CSSOM, which style-src does not govern.)
 */
export const consoleCsp = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const securityHeaders = (reply: FastifyReply) =>
  reply
    .header('content-security-policy', consoleCsp)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer');

/**
 * Serves the web console: hashed assets cached for a year and sent precompressed (brotli or gzip, as
 * the browser accepts), index.html never cached (a new build
 * is picked up at the next load). Without a build (a checkout whose install skipped it) the pages
 * say how to build it instead of a bare 404.
 */
export async function registerConsole(app: FastifyInstance, dist = consoleDist) {
  const built = existsSync(`${dist}index.html`);
  if (built) {
    // The assets are the same for everyone and hold no data: public, like the page (route-table.ts).
    await app.register(fastifyStatic, {
      root: `${dist}assets`,
      prefix: '/assets/',
      immutable: true,
      maxAge: '365d',
      index: false,
      // Brotli and gzip copies made at build time (scripts/build-web.mjs), chosen by Accept-Encoding,
      // with `Vary: Accept-Encoding` so a shared cache keeps them apart.
      preCompressed: true,
      setHeaders: (reply) => securityHeaders(reply),
    });
  }
  const page = async (_req: unknown, reply: FastifyReply) => {
    securityHeaders(reply).header('cache-control', 'no-cache');
    if (!built) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The console is not built: run `npm run build` (npm install does it), then reload.\n');
    }
    // The assets' year-long caching must not reach the page that names them.
    return reply.sendFile('index.html', dist, { cacheControl: false });
  };
  const config = { auth: 'public' as const };
  const schema = { hide: true };
  for (const path of consolePaths) {
    app.get(path, { config, schema }, page);
    if (path !== '/') app.get(`${path}/*`, { config, schema }, page);
  }
  if (built) app.decorate('consoleNotFound', (reply: FastifyReply) => page(undefined, reply.code(404)));
}

/**
 * A browser that navigates to an address nothing answers (`/nope/xyz`, a mistyped link) gets the
 * console's not-found page with its 404 instead of the API's JSON; anything under `/v1/`, and every
 * request that is not a page load, keeps the JSON 404.
 */
export function browserNotFound(request: FastifyRequest, reply: FastifyReply): unknown {
  const notFoundPage = request.server.consoleNotFound;
  if (!notFoundPage || request.method !== 'GET' || request.url.startsWith('/v1/')) return undefined;
  const navigates = request.headers['sec-fetch-mode'] === 'navigate';
  if (!navigates && !/^text\/html/.test(request.headers.accept ?? '')) return undefined;
  return notFoundPage(reply);
}
