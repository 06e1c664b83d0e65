import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.ts';
import { installed, pack, readmeExample, root, run, typecheck, typedUse, useAgainst } from './consumer.ts';

/**
 * The package as another project gets it: `npm pack`, then `npm install` of the tarball into an
 * empty project, which imports `agentry/client` (and type-checks against its declarations). The
 * install is offline: the tarball's own dependencies are linked from this checkout's node_modules
 * beforehand, so npm finds them satisfied and fetches nothing.
 */
describe('the packed package', () => {
  let dir: string;
  let project: string;
  let s: TestServer;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'agentry-pack-'));
    project = path.join(dir, 'consumer');
    s = await startServer('pglite');
    await run(process.execPath, ['scripts/build.mjs', '--client'], { cwd: root });
    // The prepare script (the whole build) ran just above and at the run's start: not again here,
    // where rebuilding dist/ under other suites' feet would break the commands they spawn.
    const packed = await pack(root, dir);
    for (const f of [
      'dist/client/index.js',
      'dist/client/index.d.ts',
      'dist/client/openapi.d.ts',
      'bin/agentry.js',
    ])
      assert.ok(packed.files.has(f), `the tarball holds ${f}`);
    assert.ok(![...packed.files].some((f) => f.startsWith('packages/')), 'not the workspace packages');

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
    await run('npm', ['install', packed.file, '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: project,
    });
  });
  after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports agentry/client from an .mjs file and talks to the server', async () => {
    const out = await useAgainst(project, 'agentry/client', s);
    // The installed copy, not this checkout's sources.
    assert.equal(out.resolved, installed(project, 'agentry', 'dist', 'client', 'index.js'));
    assert.equal(out.text, 'You said: from the tarball');
    assert.deepEqual(out.error, [404, 'not_found', 'string']);
  });

  it('type-checks a .ts file against the installed declarations', async () => {
    await typecheck(project, typedUse('agentry/client')).catch((err) =>
      assert.fail(`tsc: ${err.stdout}${err.stderr}`),
    );
    // The README's example, as it is written there.
    await typecheck(project, readmeExample(path.join(root, 'README.md'), '## TypeScript client')).catch(
      (err) => assert.fail(`the README example: tsc: ${err.stdout}${err.stderr}`),
    );
    // A wrong use is refused: the declarations are really read.
    await assert.rejects(
      typecheck(project, `import { createClient } from 'agentry/client';\ncreateClient({});\n`),
      (err: { stdout: string }) => /baseUrl/.test(err.stdout),
    );
  });

  it('keeps the command working from the installed package', async () => {
    const { stdout } = await run(path.join(project, 'node_modules', '.bin', 'agentry'), ['--version'], {
      cwd: project,
    });
    const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    assert.match(stdout, new RegExp(version.replaceAll('.', '\\.')));
  });
});
