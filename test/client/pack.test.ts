import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startServer, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The package as another project gets it: `npm pack`, then `npm install` of the tarball into an
 * empty project, which imports `agentry/client` (and type-checks against its declarations). The
 * install is offline: the tarball's own dependencies are linked from this checkout's node_modules
 * beforehand, so npm finds them satisfied and fetches nothing.
 */
describe('the packed package', () => {
  let dir: string;
  let s: TestServer;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'agentry-pack-'));
    s = await startServer('pglite');
    await run(process.execPath, ['scripts/build.mjs', '--client'], { cwd: root });
    // The prepare script (the whole build) ran just above and at the run's start: not again here,
    // where rebuilding dist/ under other suites' feet would break the commands they spawn.
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: root,
    });
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    const files = new Set(packed!.files.map((f) => f.path));
    for (const f of [
      'dist/client/index.js',
      'dist/client/index.d.ts',
      'dist/client/openapi.d.ts',
      'bin/agentry.js',
    ])
      assert.ok(files.has(f), `the tarball holds ${f}`);

    const project = path.join(dir, 'consumer');
    mkdirSync(path.join(project, 'node_modules'), { recursive: true });
    writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    const deps = Object.keys(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).dependencies);
    for (const d of deps) {
      mkdirSync(path.dirname(path.join(project, 'node_modules', d)), { recursive: true });
      symlinkSync(path.join(root, 'node_modules', d), path.join(project, 'node_modules', d));
    }
    await run(
      'npm',
      [
        'install',
        path.join(dir, packed!.filename),
        '--offline',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
      ],
      { cwd: project },
    );
  });
  after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports agentry/client from an .mjs file and talks to the server', async () => {
    const project = path.join(dir, 'consumer');
    writeFileSync(
      path.join(project, 'use.mjs'),
      `import { AgentryError, createClient } from 'agentry/client';
const api = createClient({ baseUrl: process.env.AGENTRY_URL, apiKey: process.env.AGENTRY_API_KEY });
const agent = await api.POST('/v1/agents', { body: { name: 'packed' } });
let text = '';
for await (const e of api.chat(agent.id, { message: 'from the tarball' })) if (e.type === 'text') text += e.delta;
const missing = await api.GET('/v1/agents/{id}', { params: { path: { id: crypto.randomUUID() } } }).catch((e) => e);
console.log(JSON.stringify({
  resolved: import.meta.resolve('agentry/client'),
  text,
  error: missing instanceof AgentryError ? [missing.status, missing.code, typeof missing.requestId] : String(missing),
}));
`,
    );
    const { stdout } = await run(process.execPath, ['use.mjs'], {
      cwd: project,
      env: { ...process.env, AGENTRY_URL: s.url, AGENTRY_API_KEY: s.adminKey },
    });
    const out = JSON.parse(stdout);
    // The installed copy, not this checkout's sources.
    assert.equal(
      fileURLToPath(out.resolved),
      path.join(realpathSync(project), 'node_modules', 'agentry', 'dist', 'client', 'index.js'),
    );
    assert.equal(out.text, 'You said: from the tarball');
    assert.deepEqual(out.error, [404, 'not_found', 'string']);
  });

  it('type-checks a .ts file against the installed declarations', async () => {
    const project = path.join(dir, 'consumer');
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
    writeFileSync(
      path.join(project, 'use.ts'),
      `import { createClient, type RunEvent } from 'agentry/client';
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
`,
    );
    await run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], {
      cwd: project,
    }).catch((err) => assert.fail(`tsc: ${err.stdout}${err.stderr}`));

    // The README's example, as it is written there (Node's globals declared: no @types/node here).
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const example = /## TypeScript client\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(example, 'the README has a TypeScript client example');
    assert.ok(example.trim().split('\n').length <= 5, 'of five lines at most');
    writeFileSync(
      path.join(project, 'use.ts'),
      `declare const process: { env: Record<string, string | undefined>; stdout: { write(s: string): void } };\n${example}`,
    );
    await run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], {
      cwd: project,
    }).catch((err) => assert.fail(`the README example: tsc: ${err.stdout}${err.stderr}`));

    // A wrong use is refused: the declarations are really read.
    writeFileSync(
      path.join(project, 'use.ts'),
      `import { createClient } from 'agentry/client';\ncreateClient({});\n`,
    );
    await assert.rejects(
      run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], {
        cwd: project,
      }),
      (err: { stdout: string }) => /baseUrl/.test(err.stdout),
    );
  });

  it('keeps the command working from the installed package', async () => {
    const project = path.join(dir, 'consumer');
    const { stdout } = await run(path.join(project, 'node_modules', '.bin', 'agentry'), ['--version'], {
      cwd: project,
    });
    const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    assert.match(stdout, new RegExp(version.replaceAll('.', '\\.')));
  });
});
