/**
 * SomaAgent01's load test (somaagent01.md): "Run `k6 run scripts/loadtest_k6.js` (set `GATEWAY_URL`
 * to your deployment) to exercise the delegation gateway under load." Agentry's is `npm run load`,
 * pointed at a running server by `GATEWAY_URL` (or `AGENTRY_URL`, or `--url`) and an API key, and
 * bounded by a duration and a count per kind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.ts';

const root = new URL('../../', import.meta.url).pathname;

interface Row {
  kind: string;
  requests: number;
  load_s: number;
  error_rate: number;
  errors: Record<string, number>;
  tasks_done?: number;
}

/** `npm run load -- …` as a person runs it; the environment has no AGENTRY_* of its own. */
function load(args: string[], env: Record<string, string>) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(AGENTRY_|GATEWAY_URL$)/.test(k)),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/load.ts', ...args], {
    cwd: root,
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, out, err })),
  );
}

describe('npm run load against a running deployment', { timeout: 120_000 }, () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite', { compat: { soma: true } });
  });
  after(() => s.close());

  it('takes GATEWAY_URL and AGENTRY_API_KEY, and stops at the count per kind', async () => {
    const before = await s.request('GET', '/v1/tasks/status');
    const r = await load(
      [
        // Only the count can end it: a duration a loaded machine could reach first would end it too.
        '--duration',
        '600',
        // A slow answer on a loaded machine is still an answer: errors here are statuses or broken
        // connections, not the machine's speed.
        '--request-timeout',
        '100',
        '--chat',
        '50',
        '--tasks',
        '50',
        '--search',
        '50',
        '--delegation',
        '50',
        '--max-requests',
        '6',
      ],
      { GATEWAY_URL: s.url, AGENTRY_API_KEY: s.adminKey },
    );
    assert.equal(r.code, 0, r.err);
    const line = r.out.split('\n').find((l) => l.startsWith('{"bench":"load"'));
    assert.ok(line, r.out);
    const report = JSON.parse(line) as { target: string; rows: Row[] };
    assert.equal(report.target, s.url);
    assert.deepEqual(report.rows.map((row) => row.kind).sort(), ['chat', 'delegation', 'search', 'tasks']);
    for (const row of report.rows) {
      assert.ok(row.requests >= 1 && row.requests <= 6, `${row.kind}: ${row.requests} requests`);
      assert.equal(row.error_rate, 0, `${row.kind}: ${JSON.stringify(row.errors)}`);
    }
    // The count, not the 600 s, ended it; and the requests reached this server.
    for (const row of report.rows) assert.ok(row.load_s < 600, `${row.kind}: load ran ${row.load_s} s`);
    const after = await s.request('GET', '/v1/tasks/status');
    const total = (b: { counts: Record<string, number> }) =>
      Object.values(b.counts).reduce((a, n) => a + n, 0);
    const made = report.rows.filter((row) => row.kind === 'tasks' || row.kind === 'delegation');
    assert.equal(
      total(after.body) - total(before.body),
      made.reduce((a, row) => a + row.requests, 0),
    );
  });

  it('takes --url and --key, and stops at the duration', async () => {
    const r = await load(
      [
        '--url',
        s.url,
        '--key',
        s.adminKey,
        '--duration',
        '2',
        '--chat',
        '5',
        '--tasks',
        '0',
        '--search',
        '0',
      ],
      {},
    );
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out.split('\n').find((l) => l.startsWith('{"bench":"load"'))!) as {
      rows: Row[];
    };
    assert.deepEqual(
      report.rows.map((row) => row.kind),
      ['chat'],
    );
    // 5 a second for 2 s: the load ended at the duration, not before, with at most about 10 sent
    // (how many answered within it, and how long after it the last one came, is the machine's speed).
    assert.ok(report.rows[0]!.load_s >= 1.9, String(report.rows[0]!.load_s));
    assert.ok(
      report.rows[0]!.requests >= 1 && report.rows[0]!.requests <= 12,
      String(report.rows[0]!.requests),
    );
  });

  it('refuses a target without a key, before sending anything', async () => {
    const r = await load(['--duration', '1'], { AGENTRY_URL: s.url });
    assert.equal(r.code, 2);
    assert.match(r.err, /a target URL needs an API key: --key agk_… or AGENTRY_API_KEY/);
  });
});
