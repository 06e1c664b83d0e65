import { readFileSync } from 'node:fs';

/**
 * The package version, read from package.json: the one place it is written. Its own module so the
 * CLI's client commands read it without importing the server (`app.ts` pulls in Fastify and both
 * store drivers, about a second more on every command).
 */
export const version: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;
