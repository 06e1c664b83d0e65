// Compiles the `agentry` command into dist/ once (`npm install` runs it as the `prepare` script;
// bin/agentry.js runs it again when a source is newer), so a command starts by loading one compiled
// module and its chunks instead of compiling ~200 .ts modules through loader hooks on every start.
// Usage: node scripts/build.mjs                    (the command, the typed client and the store's seed)
//        node scripts/build.mjs --client           (the typed client only: dist/client)
//        node scripts/build.mjs --client-package   (@agentry/client: packages/client/dist)
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
export const distDir = path.join(root, 'dist');
export const entry = path.join(distDir, 'bin', 'agentry.js');
const srcDir = path.join(root, 'src');
/** The typed client's sources: the @agentry/client workspace package, also served as `agentry/client`. */
const clientDir = path.join(root, 'packages', 'client');
export const clientPackageDist = path.join(clientDir, 'dist');

/**
 * Sources find their data files (migrations, package.json, examples, the scaffold) relative to their
 * own location: `new URL('./migrations/', import.meta.url)`. In the bundle that URL would be the
 * chunk's, so each such expression is given the source file's URL instead, found from the checkout's
 * root (`rootUrl`, two levels above every output file): the data stay where they are, and a moved
 * checkout still finds them.
 */
const rootUrl = 'new URL("../../", import.meta.url)';
/**
 * Worker threads' entries, built beside the command (dist/threads/). A source entry (`x-thread.js`)
 * registers the TypeScript loader and compiles the thread's modules with esbuild in every new
 * thread: ~0.4 s of CPU and an esbuild process each, two of them at every `agentry serve`'s start
 * (the QuickJS warm pool). In the bundle, `new URL('./x-thread.js', import.meta.url)` names the
 * built one instead.
 */
const threadEntries = {
  'src/tools/sandbox/quickjs-thread.js': 'threads/quickjs-thread',
  'src/models/offline-encoder/encoder-thread.js': 'threads/encoder-thread',
  'src/db/pglite-thread.js': 'threads/pglite-thread',
};
/** Built beside the command for this script: it writes the store's seed (`buildSeed`). */
const seedEntry = path.join(distDir, 'tools', 'seed.js');
const keepSourceUrls = {
  name: 'keep-source-urls',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const own = `new URL(${JSON.stringify(path.relative(root, args.path))}, ${rootUrl})`;
      const url = (_whole, head, spec) => {
        const target = /^(['"])(\.[^'"]*)\1$/.exec(spec.trim())?.[2];
        const rel = target && path.relative(root, path.resolve(path.dirname(args.path), target));
        const thread = rel && threadEntries[rel];
        return thread ? `new URL(${JSON.stringify(`dist/${thread}.js`)}, ${rootUrl})` : `${head}${own})`;
      };
      return {
        contents: text.replace(/(new URL\(([^()]*?),\s*)import\.meta\.url\)/g, url),
        loader: 'ts',
      };
    });
  },
};

/** The console's page registry, which the server's fallback routes read (src/http/console.ts). */
const pageRegistry = path.join(root, 'web', 'src', 'app', 'pages.ts');

/** The newest modification time among the files the build reads (the sources and this script). */
export function newestSource() {
  let newest = Math.max(statSync(fileURLToPath(import.meta.url)).mtimeMs, statSync(pageRegistry).mtimeMs);
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

/** esbuild options shared by the command's bundle and the test bundles. */
const nodeBundle = {
  absWorkingDir: root,
  bundle: true,
  // Dependencies load from node_modules as they do for the sources; only Agentry's code is compiled.
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: `node${process.versions.node}`,
  // Chunks keep what a command imports lazily (the server, the stores) out of `--version` and the
  // client commands, and hold the code test files share once.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: 'linked',
  sourcesContent: false,
  tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
  logLevel: 'warning',
};

/**
 * Builds dist/agentry.js and its chunks. Several processes may build at once (tests spawn the
 * command in parallel): chunks are named by content hash and every file is written to a temporary
 * name then renamed, the entry last, so a reader never sees a half-written or mismatched file.
 */
export async function build() {
  // Imported here, not at the top: bin/agentry.js loads this file on every start for `isStale`.
  const { build: esbuild } = await import('esbuild');
  const result = await esbuild({
    ...nodeBundle,
    entryPoints: {
      'bin/agentry': 'src/main.ts',
      'tools/seed': 'src/db/seed.ts',
      ...Object.fromEntries(
        Object.entries(threadEntries).map(([js, out]) => [out, js.replace(/\.js$/, '.ts')]),
      ),
    },
    outdir: distDir,
    plugins: [keepSourceUrls],
    write: false,
  });
  for (const dir of ['bin', 'chunks', 'threads', 'tools'])
    mkdirSync(path.join(distDir, dir), { recursive: true });
  const files = [...result.outputFiles].sort((a, b) => Number(a.path === entry) - Number(b.path === entry));
  for (const f of files) {
    const tmp = `${f.path}.${process.pid}.tmp`;
    writeFileSync(tmp, f.contents);
    renameSync(tmp, f.path);
  }
  return files.map((f) => path.relative(root, f.path));
}

/**
 * Compiles test files (paths under the checkout, `test/x.test.ts`) with everything of the checkout
 * they import into `outdir` (`test/x.test.js` there, shared code in chunks), for `scripts/test.mjs`.
 * A test process then loads a few compiled modules instead of compiling ~300 through loader hooks:
 * about 3 s less CPU per file. Each module keeps its own `import.meta.url`, `dirname` and `filename`
 * (as literals of its source's location), so fixtures and data files are found where they are.
 */
export async function buildTests(files, outdir) {
  const { build: esbuild } = await import('esbuild');
  const sourceMeta = {
    name: 'source-meta',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('import.meta')) return { contents: text, loader: 'ts' };
        const url = JSON.stringify(pathToFileURL(args.path).href);
        const [dir, file] = [JSON.stringify(path.dirname(args.path)), JSON.stringify(args.path)];
        // On the first line, so the source map's lines stay the source's.
        const meta = `const __metaUrl = ${url}, __metaDirname = ${dir}, __metaFilename = ${file};`;
        return { contents: meta + text, loader: 'ts' };
      });
    },
  };
  await esbuild({
    ...nodeBundle,
    entryPoints: files,
    outbase: root,
    outdir,
    // `define` rewrites code only (not strings), and each module's names stay its own when bundled.
    define: {
      'import.meta.url': '__metaUrl',
      'import.meta.dirname': '__metaDirname',
      'import.meta.filename': '__metaFilename',
    },
    plugins: [sourceMeta],
  });
  return files.map((f) => path.join(outdir, f.replace(/\.ts$/, '.js')));
}

/**
 * Builds the typed client (packages/client/src) into `out`: index.js, one ES module for Node and
 * browsers (openapi-fetch and eventsource-parser stay imports), and its declarations from tsc. Into
 * dist/client for `agentry/client` (package.json `exports`), and into packages/client/dist for the
 * @agentry/client package. Not part of `build()`: the command never loads it, and tsc takes seconds,
 * so only `npm install` / `npm pack` (the `prepare` script) and `npm run build` make it.
 */
export async function buildClient(out = path.join(distDir, 'client'), { sourcemap = true } = {}) {
  const { build: esbuild } = await import('esbuild');
  rmSync(out, { recursive: true, force: true });
  await esbuild({
    absWorkingDir: root,
    entryPoints: { index: path.join(clientDir, 'src', 'index.ts') },
    bundle: true,
    packages: 'external',
    platform: 'neutral',
    format: 'esm',
    target: 'es2022',
    outdir: out,
    sourcemap: sourcemap && 'linked',
    sourcesContent: false,
    logLevel: 'warning',
  });
  // TypeScript is a development dependency: an install without them (`--omit=dev`) still builds
  // the command and the client's JavaScript.
  const ts = await import('typescript').then(
    (m) => m.default,
    () => undefined,
  );
  if (!ts) {
    console.warn('typescript is not installed: dist/client has no declarations');
    return;
  }
  const program = ts.createProgram([path.join(clientDir, 'src', 'index.ts')], {
    declaration: true,
    emitDeclarationOnly: true,
    outDir: out,
    rootDir: path.join(clientDir, 'src'),
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    // The client runs where fetch does: its declarations name the web platform's types only.
    types: [],
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
  });
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...program.emit().diagnostics];
  if (diagnostics.length > 0) {
    const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
    throw new Error(`the client's declarations:\n${ts.formatDiagnostics(diagnostics, host)}`);
  }
  // The sources import each other as `./x.ts` (as the whole checkout does); the declarations sit
  // beside `.js` files, where a consumer's TypeScript looks for `./x.js`. The generated route types
  // are a declaration file already and are copied as they are.
  for (const name of readdirSync(out)) {
    if (!name.endsWith('.d.ts')) continue;
    const file = path.join(out, name);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/(from '\.\/[\w-]+)\.ts'/g, "$1.js'"));
  }
  copyFileSync(path.join(clientDir, 'src', 'openapi.d.ts'), path.join(out, 'openapi.d.ts'));
}

/**
 * Writes dist/pglite-seed.tar.gz: a store with every migration applied, which a new embedded store
 * starts from (src/db/seed.ts) instead of running initdb and each migration at its first start. Run
 * by the built code (`build()` first), so the seed is what the command itself would migrate.
 */
export async function buildSeed() {
  const { builtSeedFile, writeSeed } = await import(pathToFileURL(seedEntry).href);
  const tmp = `${builtSeedFile}.${process.pid}.tmp.tar.gz`;
  await writeSeed(tmp, { gzip: true });
  // The manifest last: a seed without its manifest (an interrupted build) is not used.
  renameSync(tmp, builtSeedFile);
  renameSync(tmp.replace(/\.tar\.gz$/, '.json'), builtSeedFile.replace(/\.tar\.gz$/, '.json'));
  return path.relative(root, builtSeedFile);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--client')) {
    await buildClient();
    console.log('built the client into dist/client/');
    process.exit(0);
  }
  if (process.argv.includes('--client-package')) {
    // No source maps: they would point at sources the package does not ship.
    await buildClient(clientPackageDist, { sourcemap: false });
    console.log('built @agentry/client into packages/client/dist/');
    process.exit(0);
  }
  rmSync(distDir, { recursive: true, force: true });
  const files = await build();
  await buildClient();
  const seed = await buildSeed();
  console.log(`built ${files.length} files, the client and ${seed} into dist/`);
}
