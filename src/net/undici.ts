import { createRequire } from 'node:module';
import type * as Undici from 'undici';

let loaded: typeof Undici | undefined;

/**
 * undici, loaded at its first use rather than with the modules that use it: its ~110 modules took
 * ~70 ms of every start (docs/performance.md), and a start (on the mock model) sends nothing out.
 */
export function undici(): typeof Undici {
  loaded ??= createRequire(import.meta.url)('undici') as typeof Undici;
  return loaded;
}
