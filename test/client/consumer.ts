import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Another project that installs the typed client from a tarball and uses it: a script that talks to
 * a real server, and TypeScript files checked against the installed declarations. Shared by the
 * `agentry` package's test (agentry/client) and @agentry/client's.
 */

export const run = promisify(execFile);
export const root = fileURLToPath(new URL('../../', import.meta.url));
const tscBin = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** `npm pack` of the package in `dir` (its scripts not run: the caller built it) into `dest`. */
export async function pack(dir: string, dest: string): Promise<{ file: string; files: Set<string> }> {
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], {
    cwd: dir,
  });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  return { file: path.join(dest, packed!.filename), files: new Set(packed!.files.map((f) => f.path)) };
}

/**
 * Runs a script that creates an agent, chats with it and meets a 404 through `specifier`, and answers
 * what it saw: where the module resolved, the chat's text, and the error's status, code and request id.
 */
export async function useAgainst(
  project: string,
  specifier: string,
  server: { url: string; adminKey: string },
): Promise<{ resolved: string; text: string; error: unknown }> {
  writeFileSync(
    path.join(project, 'use.mjs'),
    `import { AgentryError, createClient } from '${specifier}';
const api = createClient({ baseUrl: process.env.AGENTRY_URL, apiKey: process.env.AGENTRY_API_KEY });
const agent = await api.POST('/v1/agents', { body: { name: 'packed' } });
let text = '';
for await (const e of api.chat(agent.id, { message: 'from the tarball' })) if (e.type === 'text') text += e.delta;
const missing = await api.GET('/v1/agents/{id}', { params: { path: { id: crypto.randomUUID() } } }).catch((e) => e);
console.log(JSON.stringify({
  resolved: import.meta.resolve('${specifier}'),
  text,
  error: missing instanceof AgentryError ? [missing.status, missing.code, typeof missing.requestId] : String(missing),
}));
`,
  );
  const { stdout } = await run(process.execPath, ['use.mjs'], {
    cwd: project,
    env: { ...process.env, AGENTRY_URL: server.url, AGENTRY_API_KEY: server.adminKey },
  });
  const out = JSON.parse(stdout);
  return { ...out, resolved: fileURLToPath(out.resolved) };
}

/** The installed copy of a package in `project`, as Node resolves it. */
export const installed = (project: string, ...parts: string[]) =>
  path.join(realpathSync(project), 'node_modules', ...parts);

/** Type-checks `source` as use.ts in `project` (no @types/node there); rejects with tsc's output. */
export async function typecheck(project: string, source: string): Promise<void> {
  writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
        lib: ['ES2023', 'DOM'],
      },
      files: ['use.ts'],
    }),
  );
  writeFileSync(path.join(project, 'use.ts'), source);
  await run(process.execPath, [tscBin, '-p', '.'], { cwd: project });
}

/** A typed use of the client, and one the declarations refuse (`@ts-expect-error`). */
export const typedUse = (specifier: string) => `import { createClient, type RunEvent } from '${specifier}';
const api = createClient({ baseUrl: 'http://127.0.0.1:7070', apiKey: 'agk_x' });
export async function names(): Promise<string[]> {
  const page = await api.GET('/v1/agents', { params: { query: { limit: 10 } } });
  return page.data.map((a) => a.name);
}
export function texts(e: RunEvent): string {
  return e.type === 'text' ? e.delta : '';
}
// @ts-expect-error: the types are the routes', not any
void api.GET('/v1/not-a-route');
`;

/** The TypeScript example under `heading` in a README, as written there, with Node's globals declared. */
export function readmeExample(readme: string, heading: string): string {
  const text = readFileSync(readme, 'utf8');
  const example = new RegExp(`${heading}\\n[\\s\\S]*?\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(text)?.[1];
  assert.ok(example, `${readme} has a TypeScript example under ${heading}`);
  assert.ok(example.trim().split('\n').length <= 5, 'of five lines at most');
  return `declare const process: { env: Record<string, string | undefined>; stdout: { write(s: string): void } };\n${example}`;
}

/** Bytes of the files under `dir` (their apparent sizes), and the packages installed there. */
export function installedSize(dir: string): { bytes: number; packages: string[] } {
  let bytes = 0;
  const packages: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        bytes += statSync(p).size;
        if (
          e.name === 'package.json' &&
          path.basename(path.dirname(path.dirname(p))).match(/^(node_modules|@.*)$/)
        )
          packages.push(path.relative(dir, path.dirname(p)));
      }
    }
  };
  walk(dir);
  return { bytes, packages: packages.sort() };
}
