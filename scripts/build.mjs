// Compiles the `agentry` command into dist/ once (`npm install` runs it as the `prepare` script;
// bin/agentry.js runs it again when a source is newer), so a command starts by loading one compiled
// module and its chunks instead of compiling ~200 .ts modules through loader hooks on every start.
// Usage: node scripts/build.mjs
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
export const distDir = path.join(root, 'dist');
export const entry = path.join(distDir, 'bin', 'agentry.js');
const srcDir = path.join(root, 'src');

/**
 * Sources find their data files (migrations, package.json, examples, the scaffold) relative to their
 * own location: `new URL('./migrations/', import.meta.url)`. In the bundle that URL would be the
 * chunk's, so each such expression is given the source file's URL instead, found from the checkout's
 * root (`rootUrl`, two levels above every output file): the data stay where they are, and a moved
 * checkout still finds them.
 */
const rootUrl = 'new URL("../../", import.meta.url)';
const keepSourceUrls = {
  name: 'keep-source-urls',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const own = `new URL(${JSON.stringify(path.relative(root, args.path))}, ${rootUrl})`;
      return {
        contents: text.replace(/(new URL\([^()]*?,\s*)import\.meta\.url\)/g, `$1${own})`),
        loader: 'ts',
      };
    });
  },
};

/** The newest modification time among the files the build reads (the sources and this script). */
export function newestSource() {
  let newest = statSync(fileURLToPath(import.meta.url)).mtimeMs;
  for (const e of readdirSync(srcDir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith('.ts'))
      newest = Math.max(newest, statSync(path.join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/** True when dist/ is missing or older than a source. */
export function isStale() {
  try {
    return statSync(entry).mtimeMs < newestSource();
  } catch {
    return true;
  }
}

/**
 * Builds dist/agentry.js and its chunks. Several processes may build at once (tests spawn the
 * command in parallel): chunks are named by content hash and every file is written to a temporary
 * name then renamed, the entry last, so a reader never sees a half-written or mismatched file.
 */
export async function build() {
  // Imported here, not at the top: bin/agentry.js loads this file on every start for `isStale`.
  const { build: esbuild } = await import('esbuild');
  const result = await esbuild({
    absWorkingDir: root,
    entryPoints: { 'bin/agentry': 'src/main.ts' },
    bundle: true,
    // Dependencies load from node_modules as they do for the sources; only Agentry's code is compiled.
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node}`,
    // Chunks keep what a command imports lazily (the server, the stores) out of `--version` and the
    // client commands.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    outdir: distDir,
    sourcemap: 'linked',
    sourcesContent: false,
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
    plugins: [keepSourceUrls],
    write: false,
    logLevel: 'warning',
  });
  for (const dir of ['bin', 'chunks']) mkdirSync(path.join(distDir, dir), { recursive: true });
  const files = [...result.outputFiles].sort((a, b) => Number(a.path === entry) - Number(b.path === entry));
  for (const f of files) {
    const tmp = `${f.path}.${process.pid}.tmp`;
    writeFileSync(tmp, f.contents);
    renameSync(tmp, f.path);
  }
  return files.map((f) => path.relative(root, f.path));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  rmSync(distDir, { recursive: true, force: true });
  const files = await build();
  console.log(`built ${files.length} files into dist/`);
}
