// The module hooks bin/ts-loader.js registers (they run on Node's loader thread).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

/** What tsconfig.json says that changes emitted code (target ES2022: class fields are defined). */
const tsconfigRaw = { compilerOptions: { useDefineForClassFields: true } };
const target = `node${process.versions.node}`;

export async function load(url, context, nextLoad) {
  // A query or hash (`x.ts?v=2`, a cache-busting re-import) is still the same .ts file.
  if (!url.startsWith('file:') || !new URL(url).pathname.endsWith('.ts')) return nextLoad(url, context);
  const file = fileURLToPath(url);
  const { code } = await transform(await readFile(file, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target,
    tsconfigRaw,
    // Stack traces need the mappings only: the sources themselves would be a second copy of every
    // module in the heap (~3.7 MB for the server's).
    sourcemap: 'inline',
    sourcesContent: false,
    sourcefile: file,
  });
  return { format: 'module', source: code, shortCircuit: true };
}
