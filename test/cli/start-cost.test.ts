import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startServe } from './run-cli.ts';

const bin = fileURLToPath(new URL('../../bin/agentry.js', import.meta.url));

// Reports every module the command resolves, through a loader hook registered before it starts.
const hooks = `data:text/javascript,${encodeURIComponent(
  "import { writeSync } from 'node:fs'; export async function resolve(s, c, next) { const r = await next(s, c); writeSync(2, 'LOADED ' + r.url + '\\n'); return r; }",
)}`;
const register = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module'; register(${JSON.stringify(hooks)});`,
)}`;

/** The packages (node_modules) a command loads before it answers. */
function packagesLoaded(...args: string[]): string[] {
  const r = spawnSync(process.execPath, ['--import', register, bin, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return packagesIn(r.stderr);
}

/** The packages named by the hook's LOADED lines in a process's stderr. */
function packagesIn(stderr: string): string[] {
  const names = stderr
    .split('\n')
    .filter((l) => l.startsWith('LOADED '))
    .map((l) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
  return [...new Set(names)].sort();
}

describe('CLI start-up', () => {
  it('--version and the client commands load commander alone: no zod, uuid or server packages', () => {
    // zod alone is about a hundred modules and doubles a bare `node -e 0` (docs/performance.md).
    assert.deepEqual(packagesLoaded('--version'), ['commander']);
    assert.deepEqual(packagesLoaded('kb', '--help'), ['commander']);
  });

  it('serve on the embedded store loads no package it only needs for something configured or asked for', async () => {
    const server = await startServe([], { env: { NODE_OPTIONS: `--import=${register}` } });
    try {
      const loaded = packagesIn(server.stderr());
      assert.ok(loaded.includes('fastify') && loaded.includes('@electric-sql/pglite'), loaded.join(' '));
      // pg with DATABASE_URL, ioredis with REDIS_URL, esbuild at a deploy, htmlparser2 at a crawled
      // page, the vendor SDKs and MCP's server and client at their first call (docs/performance.md).
      const lazy = ['pg', 'ioredis', 'esbuild', 'htmlparser2', '@anthropic-ai/sdk', 'google-auth-library'];
      assert.deepEqual(
        loaded.filter((p) => lazy.includes(p) || p === '@hono/node-server'),
        [],
        'loaded at start',
      );
    } finally {
      assert.equal(await server.stop(), 0, server.stderr());
    }
  });
});
