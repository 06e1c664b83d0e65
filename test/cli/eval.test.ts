import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { type CliResult, runCli, tempDir } from './run-cli.ts';

/** `agentry eval run` as a CI job runs it: a real process against a real server. */

const contains = JSON.stringify({ type: 'contains', name: 'says', value: 'said' });

for (const store of stores) {
  describe(`agentry eval run on ${store}`, () => {
    let s: TestServer;
    const tmp = tempDir();
    /** `agentry eval run` against the server at `url`. */
    const cliAt = (url: string, ...args: string[]) =>
      runCli(['eval', 'run', ...args, '--poll-ms', '50', '--url', url, '--api-key', s.adminKey], {
        cwd: tmp.dir,
      });
    const cli = (...args: string[]): Promise<CliResult> => cliAt(s.url, ...args);
    before(async () => {
      // `mock/slow` answers after a second: an experiment of it is still running when the CLI looks.
      s = await startServer(store, {
        tasks: { workers: 4 } as never,
        models: { mock: { delays: { slow: 1000 } } } as never,
      });
      const agent = await s.request('POST', '/v1/agents', { body: { name: 'echo', model: 'mock/default' } });
      assert.equal(agent.status, 201, agent.text);
      // Version 2 answers as a judge would: not what the dataset expects.
      await s.request('PATCH', `/v1/agents/${agent.body.id}`, { body: { model: 'mock/judge' } });
      const items = ['apple', 'banana', 'cherry', 'damson'].map((w, i) => ({
        input: { message: w },
        expected: i === 3 ? 'something else' : `You said: ${w}`,
      }));
      assert.equal((await s.request('POST', '/v1/datasets', { body: { name: 'fruit', items } })).status, 201);
    });
    after(async () => {
      await s.close();
      tmp.remove();
    });

    it('runs a pinned version, prints progress and the summary, writes JUnit XML, and passes over the threshold', async () => {
      const junit = path.join(tmp.dir, 'pass.xml');
      const r = await cli(
        '--dataset',
        'fruit',
        '--agent',
        'echo@1',
        '--evaluator',
        'exact_match',
        '--evaluator',
        contains,
        '--fail-under',
        '0.8',
        '--junit',
        junit,
      );
      assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
      // Progress, one line per change off a terminal, ending at every item finished.
      assert.match(r.stderr, /^4\/4 items \(0 errors\) completed$/m);
      // Three items score 1 on both; the last passes only `says`: (3 + 0.5) / 4.
      assert.match(r.stdout, /^score: 0\.875 /m);
      assert.match(r.stdout, /^exact_match\s+exact_match\s+0\.75\s+0\.75\s+4\s+0$/m);
      assert.match(r.stdout, /^says\s+contains\s+1\s+1\s+4\s+0$/m);
      const xml = readFileSync(junit, 'utf8');
      assert.equal(xml.match(/<testcase /g)?.length, 4);
      assert.match(xml, /<testsuite name="echo on fruit" tests="4" failures="1" errors="0"/);
      // The run passes as a whole; the one item under the threshold is the JUnit failure.
      assert.match(xml, /name="#4 damson" time="[\d.]+">\n\s+<failure message="score 0\.5 is under 0\.8"\/>/);
      assert.match(xml, /exact_match: 0 \(expected &quot;something else&quot;/);
    });

    it('exits 1 under --fail-under, naming the score, with a JUnit failure per item under it', async () => {
      const junit = path.join(tmp.dir, 'fail.xml');
      const r = await cli(
        '--dataset',
        'fruit',
        '--agent',
        'echo',
        '--evaluator',
        'exact_match',
        '--evaluator',
        contains,
        '--fail-under',
        '0.5',
        '--junit',
        junit,
      );
      assert.equal(r.code, 1, r.stdout);
      // The latest version says neither the expected answer nor "said".
      assert.match(r.stdout, /^score: 0 /m);
      assert.match(r.stderr, /^agentry: score 0 is under --fail-under 0\.5$/m);
      const xml = readFileSync(junit, 'utf8');
      assert.equal(xml.match(/<failure message="score 0 is under 0\.5"\/>/g)?.length, 4);
    });

    it('prints the finished experiment and its score as JSON with --json', async () => {
      const r = await cli('--dataset', 'fruit', '--agent', 'echo@1', '--evaluator', 'exact_match', '--json');
      assert.equal(r.code, 0, r.stderr);
      const body = JSON.parse(r.stdout);
      assert.equal(body.status, 'completed');
      assert.equal(body.agent_version, 1);
      assert.equal(body.score, 0.75);
    });

    it('runs a team with --team', async () => {
      const echo = await s.request('GET', '/v1/agents/echo');
      const team = await s.request('POST', '/v1/multi-agents', {
        body: { name: 'crew', kind: 'swarm', members: [echo.body.id] },
      });
      assert.equal(team.status, 201, team.text);
      const r = await cli('--dataset', 'fruit', '--team', 'crew', '--evaluator', 'exact_match', '--json');
      assert.equal(r.code, 0, r.stderr);
      const body = JSON.parse(r.stdout);
      assert.equal(body.team_name, 'crew');
      assert.equal(body.progress.total, 4);
    });

    it("follows the experiment's event stream, a line per item, without waiting for a poll", {
      timeout: 30_000,
    }, async () => {
      const slow = await s.request('POST', '/v1/agents', { body: { name: 'slow-echo', model: 'mock/slow' } });
      assert.equal(slow.status, 201, slow.text);
      // A poll a minute: reading progress that way, the run would outlast the test's 30 s.
      const r = await cli(
        '--dataset',
        'fruit',
        '--agent',
        'slow-echo',
        '--evaluator',
        'exact_match',
        '--poll-ms',
        '60000',
      );
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.deepEqual(lines.slice(0, 4), [
        '1/4 items (0 errors) running',
        '2/4 items (0 errors) running',
        '3/4 items (0 errors) running',
        '4/4 items (0 errors) running',
      ]);
      assert.equal(lines.at(-1), '4/4 items (0 errors) completed');
    });

    it('reads progress by polling when a proxy refuses the event stream', async () => {
      // A proxy before the server that forwards everything but event streams.
      const proxy = createServer((req, res) => {
        if (req.url?.endsWith('/stream')) {
          res.writeHead(502).end('streams not allowed here');
          return;
        }
        const up = httpRequest(
          `${s.url}${req.url}`,
          { method: req.method, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        up.on('error', () => res.destroy());
        req.pipe(up);
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      try {
        const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
        const r = await cliAt(url, '--dataset', 'fruit', '--agent', 'echo@1', '--evaluator', 'exact_match');
        assert.equal(r.code, 0, r.stderr);
        assert.match(
          r.stderr,
          /^\(progress by polling: HTTP 502 from \/v1\/experiments\/[0-9a-f-]+\/stream\)$/m,
        );
        assert.match(r.stderr, /^4\/4 items \(0 errors\) completed$/m);
        assert.match(r.stdout, /^score: 0\.75 /m);
      } finally {
        await new Promise((r) => proxy.close(r));
      }
    });

    it('refuses bad flags and unknown names with one line and exit 2 (could not run)', async () => {
      const cases: [string[], RegExp][] = [
        [['--dataset', 'fruit', '--agent', 'echo@9', '--evaluator', 'exact_match'], /404.*version 9/],
        [['--dataset', 'nope', '--agent', 'echo', '--evaluator', 'exact_match'], /404.*dataset/],
        [['--dataset', 'fruit', '--evaluator', 'exact_match'], /give one of --agent, --team or --target/],
        [['--dataset', 'fruit', '--agent', 'echo', '--evaluator', 'Not A Type'], /--evaluator/],
        [
          ['--dataset', 'fruit', '--agent', 'echo', '--evaluator', '{"type":'],
          /--evaluator is not valid JSON/,
        ],
        [['--dataset', 'fruit', '--agent', 'echo', '--evaluator', 'nope'], /400/],
        [
          ['--dataset', 'fruit', '--agent', 'echo', '--evaluator', 'exact_match', '--fail-under', '2'],
          /--fail-under/,
        ],
      ];
      for (const [args, pattern] of cases) {
        const r = await cli(...args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, pattern, args.join(' '));
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      }
      // Commander's own refusal: a required flag missing.
      const missing = await cli('--agent', 'echo', '--evaluator', 'exact_match');
      assert.equal(missing.code, 2, missing.stderr);
      assert.match(missing.stderr, /--dataset/);
    });

    it('exits 2 when it cannot reach the server or its key is refused, never 1 (the bar)', async () => {
      const evalArgs = ['eval', 'run', '--dataset', 'fruit', '--agent', 'echo', '--evaluator', 'exact_match'];
      const badKey = await runCli(
        [...evalArgs, '--url', s.url, '--api-key', `agk_${'0'.repeat(12)}_${'x'.repeat(43)}`],
        {
          cwd: tmp.dir,
        },
      );
      assert.equal(badKey.code, 2, badKey.stderr);
      assert.match(badKey.stderr, /401/);
      // A port nothing listens on: a closed server's.
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const { port } = closed.address() as AddressInfo;
      await new Promise((r) => closed.close(r));
      const unreachable = await runCli(
        [...evalArgs, '--url', `http://127.0.0.1:${port}`, '--api-key', s.adminKey],
        {
          cwd: tmp.dir,
        },
      );
      assert.equal(unreachable.code, 2, unreachable.stderr);
    });
  });
}
