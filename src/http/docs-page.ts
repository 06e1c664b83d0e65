import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { named } from './plugins/named.ts';

/**
 * The API reference page's policy: Swagger UI's own scripts and styles from this server (it has no
 * inline script; React sets styles through the CSSOM, which style-src does not govern), its logo as
 * a data: image, requests to this server only (the document's `servers` is this server), and no
 * other site may frame it (clickjacking: the page holds a key a user typed into "Authorize").
 * One inline style is allowed by its hash: the two fill colours of the top bar's Swagger logo, an
 * SVG with a <style> element (test/http/openapi.test.ts loads the page and fails on any violation,
 * so a Swagger UI whose logo changes says so).
 */
const swaggerLogoStyle = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='";

export const docsCsp = [
  "default-src 'self'",
  "script-src 'self'",
  `style-src 'self' ${swaggerLogoStyle}`,
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The API reference at /docs (Swagger UI over /docs/json), every answer under it with the policy
 * above. Its own plugin context, so the headers reach the page, its assets and its document only.
 */
export async function registerDocsPage(app: FastifyInstance): Promise<void> {
  await app.register(
    named('docs page', async (docs) => {
      docs.addHook('onSend', async (_request, reply) => {
        reply
          .header('content-security-policy', docsCsp)
          // For browsers without frame-ancestors.
          .header('x-frame-options', 'DENY')
          .header('x-content-type-options', 'nosniff')
          .header('referrer-policy', 'no-referrer');
      });
      await docs.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } });
    }),
  );
}
