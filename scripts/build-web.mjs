// Builds the web console (web/) into web/dist with Vite, when a source is newer than the build.
// `npm install` runs it (the `prepare` script) and `agentry serve` runs it from a checkout, so the
// README's two commands give a working console on a fresh clone with no third step.
// Usage: node scripts/build-web.mjs [--force]
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('../', import.meta.url));
const web = path.join(root, 'web');
const built = path.join(web, 'dist', 'index.html');
/** What the build reads besides web/src: the page, the config and the API's generated types. */
const inputs = [
  'index.html',
  'vite.config.ts',
  'tsconfig.json',
  '../packages/client/src/openapi.d.ts',
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
  precompress(path.join(web, 'dist'));
}

/**
 * Writes `<file>.br` and `<file>.gz` beside each text file of the build, at the strongest settings
 * (done once here, not per request): the server sends whichever the browser accepts
 * (src/http/console.ts), with `Vary: Accept-Encoding`.
 */
function precompress(dir) {
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !/\.(js|css|html|svg|json)$/.test(e.name)) continue;
    const file = path.join(e.parentPath, e.name);
    const body = readFileSync(file);
    const br = brotliCompressSync(body, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    });
    writeFileSync(`${file}.br`, br);
    writeFileSync(`${file}.gz`, gzipSync(body, { level: 9 }));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--force') || isWebStale()) {
    const started = Date.now();
    await buildWeb();
    console.log(`console built into web/dist in ${Date.now() - started} ms`);
  }
}
