import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.ts';
import { type CliResult, runCli, tempDir } from './run-cli.ts';

const exit = (r: CliResult, code: number) => {
  assert.equal(r.code, code, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
};

describe('agentry agents label', () => {
  let s: TestServer;
  const tmp = tempDir();
  let cli: (...args: string[]) => Promise<CliResult>;
  before(async () => {
    s = await startServer('pglite');
    cli = (...args) => runCli([...args, '--url', s.url, '--api-key', s.adminKey], { cwd: tmp.dir });
    await s.request('POST', '/v1/agents', { body: { name: 'cli-agent', model: 'mock/one' } });
    await s.request('PATCH', '/v1/agents/cli-agent', { body: { model: 'mock/two' } });
    await s.request('POST', '/v1/datasets', {
      body: { name: 'cli-set', items: [{ input: { message: 'hi' }, expected: 'You said: hi' }] },
    });
  });
  after(async () => {
    await s.close();
    tmp.remove();
  });

  it('sets, lists and removes labels; a gate refuses with exit 1 and the reasons, bad input exits 2', async () => {
    const set = exit(
      await cli('agents', 'label', 'set', 'cli-agent', 'staging', '1', '--message', 'first'),
      0,
    );
    assert.match(set.stdout, /^version:\s+- -> 1$/m);
    const gate = exit(
      await cli(
        'agents',
        'label',
        'gate',
        'cli-agent',
        'production',
        '--dataset',
        'cli-set',
        '--split',
        'test',
        '--threshold',
        '0.9',
        '--evaluator',
        'exact_match',
        '--floor',
        'exact_match=0.5',
      ),
      0,
    );
    assert.match(gate.stdout, /exact_match >= 0.9 on cli-set\/test, exact_match >= 0.5/);
    const refused = exit(await cli('agents', 'label', 'set', 'cli-agent', 'production', '2'), 1);
    assert.match(
      refused.stderr,
      /HTTP 409 conflict: .*no completed experiment of version 2 on split test of dataset cli-set/,
    );
    const list = exit(await cli('agents', 'label', 'list', 'cli-agent', '--json'), 0);
    assert.deepEqual(
      JSON.parse(list.stdout).map((l: { label: string; version: number | null }) => [l.label, l.version]),
      [
        ['production', null],
        ['staging', 1],
      ],
    );
    exit(await cli('agents', 'label', 'set', 'cli-agent', 'staging', 'two'), 2);
    exit(await cli('agents', 'label', 'set', 'cli-agent', 'Staging', '1'), 2);
    exit(
      await cli(
        'agents',
        'label',
        'gate',
        'cli-agent',
        'staging',
        '--dataset',
        'cli-set',
        '--threshold',
        'x',
      ),
      2,
    );
    exit(await cli('agents', 'label', 'rm', 'cli-agent', 'staging'), 0);
    exit(await cli('agents', 'label', 'ungate', 'cli-agent', 'production'), 0);
    assert.deepEqual((await s.request('GET', '/v1/agents/cli-agent/labels')).body.data, []);
  });
});
