import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.ts';
import {
  installed,
  installedSize,
  pack,
  readmeExample,
  root,
  run,
  typecheck,
  typedUse,
  useAgainst,
} from './consumer.ts';

const packageDir = path.join(root, 'packages', 'client');

interface LockEntry {
  version: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  [key: string]: unknown;
}

/**
 * A lock file for a project that depends on the tarball alone: its dependencies' entries (resolved
 * URL and integrity) are this checkout's, so `npm ci --offline` takes them from npm's cache, where
 * the checkout's own install put them, and asks no registry.
 */
function lockFor(tarball: string): object {
  const ours = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')).packages as Record<
    string,
    LockEntry
  >;
  const manifest = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
  const spec = `file:${path.basename(tarball)}`;
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  const packages: Record<string, object> = {
    '': { name: 'consumer', dependencies: { [manifest.name]: spec } },
    [`node_modules/${manifest.name}`]: {
      version: manifest.version,
      resolved: spec,
      integrity,
      dependencies: manifest.dependencies,
    },
  };
  const todo = Object.keys(manifest.dependencies ?? {});
  for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
    const key = `node_modules/${name}`;
    if (packages[key]) continue;
    const { dev: _dev, devOptional: _opt, peer: _peer, ...entry } = ours[key]!;
    packages[key] = entry;
    todo.push(...Object.keys(entry.dependencies ?? {}));
  }
  return { name: 'consumer', lockfileVersion: 3, requires: true, packages };
}

/**
 * @agentry/client as another project gets it: packed from packages/client, installed from the
 * tarball with npm into an empty project (offline, from npm's cache), then used against a real server
 * and type-checked. It brings no server code: a handful of packages, under a megabyte and a half.
 */
describe('the @agentry/client package', () => {
  let dir: string;
  let project: string;
  let s: TestServer;
  let files: Set<string>;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'agentry-client-pkg-'));
    project = path.join(dir, 'consumer');
    mkdirSync(project);
    s = await startServer('pglite');
    await run(process.execPath, ['scripts/build.mjs', '--client-package'], { cwd: root });
    const packed = await pack(packageDir, project);
    files = packed.files;
    const deps = { '@agentry/client': `file:${path.basename(packed.file)}` };
    writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: deps }),
    );
    writeFileSync(path.join(project, 'package-lock.json'), JSON.stringify(lockFor(packed.file)));
    await run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: project });
  });
  after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds the built client, its declarations and README, and depends on no server package', () => {
    assert.deepEqual([...files].sort(), [
      'README.md',
      'dist/errors.d.ts',
      'dist/evaluate.d.ts',
      'dist/events.d.ts',
      'dist/index.d.ts',
      'dist/index.js',
      'dist/openapi.d.ts',
      'dist/stream.d.ts',
      'package.json',
    ]);
    const manifest = JSON.parse(
      readFileSync(installed(project, '@agentry', 'client', 'package.json'), 'utf8'),
    );
    assert.deepEqual(Object.keys(manifest.dependencies).sort(), ['eventsource-parser', 'openapi-fetch']);
  });

  it('installs small: a few packages, under 1.5 MB', (t) => {
    const { bytes, packages } = installedSize(path.join(project, 'node_modules'));
    t.diagnostic(
      `installed: ${(bytes / 1024).toFixed(0)} kB in ${packages.length} packages (${packages.join(', ')})`,
    );
    assert.deepEqual(packages, [
      '@agentry/client',
      'eventsource-parser',
      'openapi-fetch',
      'openapi-typescript-helpers',
    ]);
    assert.ok(bytes < 1.5 * 1024 * 1024, `${bytes} bytes`);
  });

  it('talks to a real server from an .mjs file', async () => {
    const out = await useAgainst(project, '@agentry/client', s);
    assert.equal(out.resolved, installed(project, '@agentry', 'client', 'dist', 'index.js'));
    assert.equal(out.text, 'You said: from the tarball');
    assert.deepEqual(out.error, [404, 'not_found', 'string']);
  });

  it("type-checks a use, its README's example, and refuses a wrong one", async () => {
    const fail = (what: string) => (err: { stdout?: string; stderr?: string }) =>
      assert.fail(`${what}: tsc: ${err.stdout}${err.stderr}`);
    await typecheck(project, typedUse('@agentry/client')).catch(fail('a typed use'));
    const example = readmeExample(path.join(packageDir, 'README.md'), '# @agentry/client');
    await typecheck(project, example).catch(fail('the README example'));
    await assert.rejects(
      typecheck(project, `import { createClient } from '@agentry/client';\ncreateClient({});\n`),
      (err: { stdout: string }) => /baseUrl/.test(err.stdout),
    );
  });
});
