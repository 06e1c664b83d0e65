import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';
import { SCAFFOLD_DIR, scaffoldFiles } from '../../src/agents/local-dev/scaffold.ts';
import { runCli, tempDir } from '../cli/run-cli.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/** Every file under `dir`, as relative paths with `/`. */
function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

const BUILD_OUTPUT_OR_LOG = /(^|\/)(node_modules|dist|build|coverage)\/|\.log$|\.tsbuildinfo$/;
const tsx = fileURLToPath(import.meta.resolve('tsx'));

describe('agent scaffold', () => {
  let server: TestServer;
  let work: ReturnType<typeof tempDir>;

  before(async () => {
    server = await startServer('pglite');
    work = tempDir('agentry-scaffold-');
  });
  after(async () => {
    await server.close();
    work.remove();
  });

  test('GET /v1/agents/scaffold is a zip of the project: contract, README, test, config, no build outputs or logs', async () => {
    const res = await fetch(`${server.url}/v1/agents/scaffold?name=Weather-bot`, {
      headers: { authorization: `Bearer ${server.adminKey}` },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/zip');
    assert.match(res.headers.get('content-disposition') ?? '', /filename="Weather-bot\.zip"/);
    const entries = unzipSync(new Uint8Array(await res.arrayBuffer()));
    const names = Object.keys(entries).sort();
    for (const f of [
      'package.json',
      'README.md',
      'src/agent.ts',
      'src/agentry.ts',
      'test/agent.test.ts',
      '.agentry/config.json',
    ]) {
      assert.ok(names.includes(`Weather-bot/${f}`), `${f} in ${names.join(', ')}`);
    }
    assert.deepEqual(
      names.filter((n) => BUILD_OUTPUT_OR_LOG.test(n)),
      [],
    );
    const decode = (n: string) => new TextDecoder().decode(entries[`Weather-bot/${n}`]);
    assert.equal(JSON.parse(decode('package.json')).name, 'weather-bot');
    assert.equal(JSON.parse(decode('.agentry/config.json')).agent, 'Weather-bot');
    assert.match(
      decode('src/agent.ts'),
      /export async function handle\(input: HandleInput, ctx: AgentContext\)/,
    );
  });

  test('the scaffold needs a key, and a bad name is a 400', async () => {
    const anonymous = await server.request('GET', '/v1/agents/scaffold', { key: null });
    assert.equal(anonymous.status, 401);
    const bad = await server.request('GET', '/v1/agents/scaffold?name=../etc');
    assert.equal(bad.status, 400);
  });

  test('agentry scaffold writes the same files as the zip, and refuses a folder that is not empty', async () => {
    const target = path.join(work.dir, 'weather');
    const first = await runCli(['scaffold', 'Weather-bot', target]);
    assert.equal(first.code, 0, first.stderr);
    const res = await fetch(`${server.url}/v1/agents/scaffold?name=Weather-bot`, {
      headers: { authorization: `Bearer ${server.adminKey}` },
    });
    const entries = unzipSync(new Uint8Array(await res.arrayBuffer()));
    const written = listFiles(target).sort();
    assert.deepEqual(
      written,
      Object.keys(entries)
        .map((n) => n.replace(/^Weather-bot\//, ''))
        .sort(),
    );
    for (const f of written) {
      assert.deepEqual(readFileSync(path.join(target, f)), Buffer.from(entries[`Weather-bot/${f}`]!), f);
    }
    const again = await runCli(['scaffold', 'Weather-bot', target]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists and is not empty/);
  });

  test("the scaffold's own test passes", () => {
    const target = path.join(work.dir, 'selftest');
    cpSync(SCAFFOLD_DIR, target, { recursive: true });
    // Without NODE_TEST_CONTEXT the child reports like a top-level run instead of to this runner.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const run = spawnSync(
      process.execPath,
      ['--import', tsx, '--test', '--test-reporter=tap', 'test/agent.test.ts'],
      { cwd: target, encoding: 'utf8', env },
    );
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /# pass 1/);
  });

  test('installed packages, build outputs and logs in the scaffold folder are left out', () => {
    const root = path.join(work.dir, 'dirty');
    cpSync(SCAFFOLD_DIR, root, { recursive: true });
    for (const dir of ['node_modules/left-pad', 'dist', 'coverage'])
      mkdirSync(path.join(root, dir), { recursive: true });
    writeFileSync(path.join(root, 'node_modules/left-pad/index.js'), 'module.exports = 1;');
    writeFileSync(path.join(root, 'dist/agent.js'), 'built');
    writeFileSync(path.join(root, 'coverage/lcov.info'), '');
    writeFileSync(path.join(root, 'npm-debug.log'), 'log');
    writeFileSync(path.join(root, 'src/debug.log'), 'log');
    const names = [...scaffoldFiles('x', root).keys()];
    assert.deepEqual(
      names.filter((n) => BUILD_OUTPUT_OR_LOG.test(n)),
      [],
    );
    assert.deepEqual(names, [...scaffoldFiles('x').keys()]);
  });
});
