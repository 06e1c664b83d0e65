// Builds the web console (web/) into web/dist with Vite, when a source is newer than the build.
// `npm install` runs it (the `prepare` script) and `agentry serve` runs it from a checkout, so the
// README's two commands give a working console on a fresh clone with no third step.
// Usage: node scripts/build-web.mjs [--force]
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const web = path.join(root, 'web');
const built = path.join(web, 'dist', 'index.html');
/** What the build reads besides web/src: the page, the config and the API's generated types. */
const inputs = [
  'index.html',
  'vite.config.ts',
  'tsconfig.json',
  '../src/client/openapi.d.ts',
  '../package-lock.json',
];

function newestInput() {
  let newest = 0;
  for (const e of readdirSync(path.join(web, 'src'), { recursive: true, withFileTypes: true })) {
    if (e.isFile()) newest = Math.max(newest, statSync(path.join(e.parentPath, e.name)).mtimeMs);
  }
  for (const f of inputs) newest = Math.max(newest, statSync(path.join(web, f)).mtimeMs);
  return newest;
}

/** True when the console's sources are here (a checkout, not a packed install) and newer than its build. */
export function isWebStale() {
  if (!existsSync(path.join(web, 'src'))) return false;
  return !existsSync(built) || statSync(built).mtimeMs < newestInput();
}

export async function buildWeb() {
  // Vite is a development dependency: a packed install ships web/dist and never gets here.
  const { build } = await import('vite');
  await build({ configFile: path.join(web, 'vite.config.ts'), logLevel: 'warn' });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--force') || isWebStale()) {
    const started = Date.now();
    await buildWeb();
    console.log(`console built into web/dist in ${Date.now() - started} ms`);
  }
}
