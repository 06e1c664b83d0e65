import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';

/** The scaffold's files, kept as a real project in the repository (scaffold/agent). */
export const SCAFFOLD_DIR = fileURLToPath(new URL('../../../scaffold/agent/', import.meta.url));

/**
 * What never goes into a scaffold, even when someone ran `npm install`, a build or the tests inside
 * scaffold/agent: installed packages, build outputs, logs, coverage and local data.
 */
const EXCLUDED_DIRS = new Set(['node_modules', 'dist', 'build', 'coverage', 'data', '.git']);
const EXCLUDED_FILE = /(\.log|\.tsbuildinfo|\.zip|\.tgz)$|^\.DS_Store$/;

/** Relative path (with `/`) → bytes of every scaffold file, for an agent called `name`. */
export function scaffoldFiles(name: string, root: string = SCAFFOLD_DIR): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!EXCLUDED_DIRS.has(entry.name)) walk(full);
      } else if (entry.isFile() && !EXCLUDED_FILE.test(entry.name)) {
        const rel = path.relative(root, full).split(path.sep).join('/');
        files.set(rel, personalise(rel, readFileSync(full), name));
      }
    }
  };
  walk(root);
  return new Map([...files].sort(([a], [b]) => a.localeCompare(b)));
}

/** The scaffold as a zip whose entries sit under `<name>/`. */
export function scaffoldZip(name: string): Uint8Array {
  // A fixed date: the same scaffold gives the same bytes (cacheable, comparable).
  const mtime = new Date('2026-01-01T00:00:00Z');
  const entries: Record<string, [Uint8Array, { mtime: Date }]> = {};
  for (const [rel, bytes] of scaffoldFiles(name)) entries[`${name}/${rel}`] = [bytes, { mtime }];
  return zipSync(entries, { level: 6 });
}

/** The agent's name goes into package.json, .agentry/config.json and the README's title. */
function personalise(rel: string, bytes: Buffer, name: string): Uint8Array {
  if (rel === 'package.json' || rel === '.agentry/config.json') {
    const json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    // npm package names are lower case; agent names need not be.
    if (rel === 'package.json') json.name = name.toLowerCase();
    else json.agent = name;
    return Buffer.from(`${JSON.stringify(json, null, 2)}\n`);
  }
  if (rel === 'README.md') return Buffer.from(bytes.toString('utf8').replaceAll('my-agent', name));
  return bytes;
}
