import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startServe, tempDir } from './run-cli.ts';

const bin = fileURLToPath(new URL('../../bin/agentry.js', import.meta.url));
const tmp = tempDir();
after(tmp.remove);

/**
 * Node's `--import` argument that lists every module a command resolves into `file`, through a loader
 * hook registered before it starts. Into a file, not onto stderr: a synchronous write to a pipe
 * its reader is too busy to drain fails (EAGAIN), and the command with it.
 */
function listingInto(file: string): string {
  const hooks = `data:text/javascript,${encodeURIComponent(
    `import { appendFileSync } from 'node:fs'; export async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(file)}, r.url + '\\n'); return r; }`,
  )}`;
  return `data:text/javascript,${encodeURIComponent(
    `import { register } from 'node:module'; register(${JSON.stringify(hooks)});`,
  )}`;
}

let listings = 0;
/** A new file for one command's listing, and what reads the packages from it. */
function listing(): { register: string; packages: () => string[] } {
  const file = `${tmp.dir}/loaded-${++listings}.txt`;
  return { register: listingInto(file), packages: () => packagesIn(readFileSync(file, 'utf8')) };
}

/** The packages (node_modules) a command loads before it answers. */
function packagesLoaded(...args: string[]): string[] {
  const { register, packages } = listing();
  const r = spawnSync(process.execPath, ['--import', register, bin, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return packages();
}

/** The packages named in a listing of module URLs. */
function packagesIn(urls: string): string[] {
  const names = urls
    .split('\n')
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
    const { register, packages } = listing();
    const server = await startServe([], { env: { NODE_OPTIONS: `--import=${register}` } });
    try {
      const loaded = packages();
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
