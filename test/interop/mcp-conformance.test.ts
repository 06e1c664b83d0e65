/**
 * The MCP project's own conformance suite (`@modelcontextprotocol/conformance`, from npm) against
 * the real server: every server scenario for what Agentry declares (tools; no resources, prompts,
 * logging, completions, sampling or elicitation are offered), DNS-rebinding protection included.
 * The runner sends no credential, so the server runs with `auth.loopback_key` (docs/interop.md).
 * The runner needs Node 22 or newer: this process when it is one, else `AGENTRY_CONFORMANCE_NODE`,
 * else a Node in ~/.cache/agentry-node; .ci/run provides one, so in CI the test never skips.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startServer, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);

/** What Agentry declares: the scenarios that apply to a stateless, tools-only server. */
const scenarios = ['server-initialize', 'ping', 'tools-list', 'dns-rebinding-protection'];

const major = (v: string) => Number(/^v?(\d+)/.exec(v)?.[1] ?? 0);

function nodeForRunner(): string | undefined {
  if (major(process.version) >= 22) return process.execPath;
  const given = process.env.AGENTRY_CONFORMANCE_NODE;
  if (given && existsSync(given)) return given;
  const cache = path.join(homedir(), '.cache', 'agentry-node');
  if (!existsSync(cache)) return undefined;
  const found = readdirSync(cache)
    .filter((v) => major(v) >= 22 && existsSync(path.join(cache, v, 'bin', 'node')))
    .sort((a, b) => major(b) - major(a));
  return found[0] ? path.join(cache, found[0], 'bin', 'node') : undefined;
}

const runner = createRequire(import.meta.url).resolve('@modelcontextprotocol/conformance/package.json');
const node = nodeForRunner();

describe('MCP conformance suite', {
  skip: node ? false : 'no Node 22+ for the runner (set AGENTRY_CONFORMANCE_NODE)',
}, () => {
  let s: TestServer;
  let out: string;
  before(async () => {
    s = await startServer('pglite');
    await s.request('POST', '/v1/agents', { body: { name: 'helper', description: 'answers' } });
    // The runner sends no credential: requests from this machine without one act as this key.
    s.app.services.config.auth.loopback_key = s.adminKey;
    out = mkdtempSync(path.join(tmpdir(), 'mcp-conformance-'));
  });
  after(async () => {
    await s.close();
    rmSync(out, { recursive: true, force: true });
  });

  for (const scenario of scenarios) {
    it(`passes ${scenario}`, async () => {
      const dir = path.join(out, scenario);
      const url = `http://localhost:${new URL(s.url).port}/mcp`;
      const { stdout, stderr } = await run(
        node as string,
        [
          path.join(path.dirname(runner), 'dist', 'index.js'),
          'server',
          '--url',
          url,
          '--scenario',
          scenario,
          '-o',
          dir,
        ],
        { timeout: 120_000, maxBuffer: 8 * 1024 * 1024 },
      ).catch((err: { stdout?: string; stderr?: string }) => ({
        stdout: err.stdout ?? '',
        stderr: err.stderr ?? '',
      }));
      const files = readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('checks.json'));
      assert.ok(files.length > 0, `no checks written:\n${stdout}\n${stderr}`);
      const checks = files.flatMap(
        (f) =>
          JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Array<{
            id: string;
            status: string;
            errorMessage?: string;
          }>,
      );
      const failed = checks.filter((c) => c.status === 'FAILURE');
      assert.deepEqual(failed, [], `${scenario}:\n${stdout}`);
      assert.ok(
        checks.some((c) => c.status === 'SUCCESS'),
        `${scenario} checked nothing:\n${stdout}`,
      );
    });
  }
});
