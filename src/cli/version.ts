import { readFileSync } from 'node:fs';

/**
 * The package version, read without importing the server: `app.ts` pulls in Fastify and both store
 * drivers, which would add about a second to every client command.
 */
export const version: string = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
).version;
