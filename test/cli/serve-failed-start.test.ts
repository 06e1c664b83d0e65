import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { closedPort } from '../helpers/closed-port.ts';
import { oneConnectionDatabase } from '../helpers/limited-role.ts';
import { spawnCli, tempDir } from './run-cli.ts';

const ready = process.env.DATABASE_URL && process.env.REDIS_URL;
/** The bound: a failed start must end the process, not leave it hanging on open handles. */
const exitWithinMs = 30_000;

async function serveExit(env: Record<string, string>, cwd: string) {
  const server = spawnCli(['serve', '--port', '0'], { cwd, env });
  const timer = setTimeout(() => server.child.kill('SIGKILL'), exitWithinMs);
  const code = await server.exited;
  clearTimeout(timer);
  return { code, stderr: server.stderr() };
}

describe('agentry serve whose start fails', {
  skip: !ready && 'needs DATABASE_URL and REDIS_URL',
  timeout: 120_000,
}, () => {
  const tmp = tempDir('agentry-failed-start-');
  let db: Awaited<ReturnType<typeof oneConnectionDatabase>>;
  before(async () => {
    db = await oneConnectionDatabase();
  });
  after(async () => {
    await db?.drop();
    tmp.remove();
  });

  it('exits non-zero with the cause when PostgreSQL is unreachable', async () => {
    const url = `postgres://postgres@127.0.0.1:${await closedPort()}/postgres`;
    const { code, stderr } = await serveExit(
      { DATABASE_URL: url, REDIS_URL: process.env.REDIS_URL! },
      tmp.dir,
    );
    assert.equal(code, 1, stderr);
    assert.match(stderr, /cannot reach PostgreSQL at .*ECONNREFUSED/);
  });

  it('exits non-zero with the cause when the store fails after Redis and the rest were opened', async () => {
    const { code, stderr } = await serveExit(
      { DATABASE_URL: db.url, REDIS_URL: process.env.REDIS_URL!, AGENTRY_DB_POOL_MAX: '1' },
      tmp.dir,
    );
    assert.equal(code, 1, stderr);
    assert.match(stderr, /too many connections/);
  });
});

describe('agentry serve with a bad tuning setting', () => {
  it('refuses to start, naming the variable, the field and the value', async () => {
    const tmp = tempDir('agentry-bad-setting-');
    try {
      const { code, stderr } = await serveExit(
        { AGENTRY_DATA_DIR: 'memory://', AGENTRY_MODEL_BREAKER_THRESHOLD: '0' },
        tmp.dir,
      );
      assert.equal(code, 2, stderr);
      assert.match(
        stderr,
        /AGENTRY_MODEL_BREAKER_THRESHOLD: models\.breaker\.failure_threshold: .*>=1 \(got "0"\)/,
      );
    } finally {
      tmp.remove();
    }
  });
});
