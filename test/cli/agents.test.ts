import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { type CliResult, runCli, tempDir } from './run-cli.ts';

const ok = (r: CliResult) => {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
};
const failed = (r: CliResult, pattern: RegExp) => {
  assert.notEqual(r.code, 0, `expected a failure, got exit 0\nstdout: ${r.stdout}`);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  return r;
};

for (const store of stores) {
  describe(`agentry agents on ${store}`, () => {
    let s: TestServer;
    const tmp = tempDir();
    // Flags for most calls; the env and credentials-file ways are covered in their own tests.
    let cli: (...args: string[]) => Promise<CliResult>;
    before(async () => {
      s = await startServer(store);
      cli = (...args) => runCli([...args, '--url', s.url, '--api-key', s.adminKey], { cwd: tmp.dir });
    });
    after(async () => {
      await s.close();
      tmp.remove();
    });

    it('creates from flags, prints the agent for people and the raw answer with --json', async () => {
      const human = ok(
        await cli(
          'agents',
          'create',
          '--name',
          'helper',
          '--description',
          'Helps out',
          '--tools',
          'read_file, bash_execute',
          '--skills',
          'code',
          '--mode',
          'collaborative',
          '--env',
          'pool',
          '--system-prompt',
          'Be brief.',
        ),
      );
      assert.match(human.stdout, /^name:\s+helper$/m);
      assert.match(human.stdout, /^tools:\s+read_file,bash_execute$/m);
      assert.match(human.stdout, /^mode:\s+COLLABORATIVE$/m);
      const id = /^id:\s+(\S+)$/m.exec(human.stdout)?.[1];
      const stored = await s.request('GET', `/v1/agents/${id}`);
      assert.equal(stored.status, 200);
      assert.deepEqual(stored.body.tools, ['read_file', 'bash_execute']);
      assert.deepEqual(stored.body.skills, ['code']);
      assert.equal(stored.body.env, 'pool');
      assert.equal(stored.body.system_prompt, 'Be brief.');

      const json = ok(await cli('agents', 'create', '--name', 'scripted', '--json'));
      const created = JSON.parse(json.stdout);
      assert.deepEqual(created, (await s.request('GET', `/v1/agents/${created.id}`)).body);
    });

    it('lists as an aligned table, and --json gives the page as the server sent it', async () => {
      const table = ok(await cli('agents', 'list'))
        .stdout.trimEnd()
        .split('\n');
      assert.match(table[0]!, /^ID\s+NAME\s+MODEL\s+MODE\s+SOURCE\s+VERSION\s+UPDATED$/);
      const nameAt = table[0]!.indexOf('NAME');
      const rows = table.slice(1);
      assert.ok(rows.length >= 2);
      for (const row of rows) assert.match(row.slice(nameAt), /^\S/, `NAME column aligned in: ${row}`);
      assert.ok(rows.some((r) => r.slice(nameAt).startsWith('helper ')));

      const page = JSON.parse(ok(await cli('agents', 'list', '--json')).stdout);
      assert.deepEqual(page, (await s.request('GET', '/v1/agents')).body);
    });

    it('filters by name and source and pages with --limit/--offset', async () => {
      const byName = JSON.parse(ok(await cli('agents', 'list', '--name', 'HELP', '--json')).stdout);
      assert.deepEqual(
        byName.data.map((a: { name: string }) => a.name),
        ['helper'],
      );
      ok(await cli('agents', 'create', '--name', 'from-tpl', '--template', 'researcher'));
      const bySource = JSON.parse(ok(await cli('agents', 'list', '--source', 'template', '--json')).stdout);
      assert.deepEqual(
        bySource.data.map((a: { name: string }) => a.name),
        ['from-tpl'],
      );
      const first = await cli('agents', 'list', '--limit', '1');
      ok(first);
      assert.equal(first.stdout.trimEnd().split('\n').length, 2, 'header and one row');
      assert.match(first.stderr, /showing 1-1 of 3/);
      const second = JSON.parse(
        ok(await cli('agents', 'list', '--limit', '1', '--offset', '1', '--json')).stdout,
      );
      assert.equal(second.data.length, 1);
      assert.equal(second.offset, 1);
    });

    it('creating from a template keeps its mode and tools unless given', async () => {
      const agent = JSON.parse(ok(await cli('agents', 'get', 'from-tpl', '--json')).stdout);
      assert.equal(agent.template_id, 'researcher');
      assert.equal(agent.mode, 'COLLABORATIVE');
      assert.deepEqual(agent.tools, ['web_search', 'web_crawl', 'read_file', 'write_file']);
      const overridden = JSON.parse(
        ok(
          await cli(
            'agents',
            'create',
            '--name',
            'tpl-reactive',
            '--template',
            'researcher',
            '--mode',
            'REACTIVE',
            '--json',
          ),
        ).stdout,
      );
      assert.equal(overridden.mode, 'REACTIVE');
      assert.deepEqual(overridden.tools, agent.tools);
    });

    it('gets by name and by id', async () => {
      const byName = JSON.parse(ok(await cli('agents', 'get', 'helper', '--json')).stdout);
      const byId = JSON.parse(ok(await cli('agents', 'get', byName.id, '--json')).stdout);
      assert.deepEqual(byName, byId);
      const human = ok(await cli('agents', 'get', 'helper')).stdout;
      assert.match(human, /^description:\s+Helps out$/m);
      assert.match(human, /^system prompt:\s+Be brief\.$/m);
    });

    it('resolves a name exactly, not as the substring the list filter matches', async () => {
      ok(await cli('agents', 'create', '--name', 'help'));
      const exact = JSON.parse(ok(await cli('agents', 'get', 'help', '--json')).stdout);
      assert.equal(exact.name, 'help');
      failed(await cli('agents', 'get', 'hel'), /no agent named "hel".*404/);
    });

    it('update sends only the fields given', async () => {
      const before = (await s.request('GET', '/v1/agents?name=helper')).body.data.find(
        (a: { name: string }) => a.name === 'helper',
      );
      const out = ok(
        await cli('agents', 'update', 'helper', '--model', 'openai/gpt-4o-mini', '--skills', ''),
      );
      assert.match(out.stdout, /^model:\s+openai\/gpt-4o-mini$/m);
      const after = (await s.request('GET', `/v1/agents/${before.id}`)).body;
      assert.equal(after.model, 'openai/gpt-4o-mini');
      assert.deepEqual(after.skills, [], '--skills "" clears the list');
      assert.equal(after.version, before.version + 1);
      for (const k of ['description', 'tools', 'mode', 'env', 'system_prompt', 'metadata']) {
        assert.deepEqual(after[k], before[k], `${k} unchanged`);
      }
    });

    it('update renames, by id', async () => {
      const { body: a } = await s.request('POST', '/v1/agents', { body: { name: 'old-name' } });
      ok(await cli('agents', 'update', a.id, '--name', 'new-name'));
      assert.equal((await s.request('GET', `/v1/agents/${a.id}`)).body.name, 'new-name');
      failed(await cli('agents', 'get', 'old-name'), /no agent named "old-name"/);
    });

    it('create and update take a whole config from --file; flags override it', async () => {
      const file = path.join(tmp.dir, 'agent.json');
      const config = {
        name: 'from-file',
        description: 'file description',
        model: 'mock/default',
        tools: ['read_file'],
        task_types: [{ name: 'summarize', prompt_template: 'Summarise {{payload.text}}' }],
        metadata: { team: 'docs', nested: { n: 1 } },
        visibility: 'tenant',
      };
      writeFileSync(file, JSON.stringify(config));
      const created = JSON.parse(
        ok(await cli('agents', 'create', '--file', file, '--description', 'flag wins', '--json')).stdout,
      );
      assert.equal(created.description, 'flag wins');
      for (const k of ['name', 'model', 'tools', 'task_types', 'metadata', 'visibility'] as const) {
        assert.deepEqual(created[k], config[k], k);
      }
      writeFileSync(file, JSON.stringify({ metadata: { team: 'ops' } }));
      const updated = JSON.parse(
        ok(await cli('agents', 'update', 'from-file', '--file', file, '--json')).stdout,
      );
      assert.deepEqual(updated.metadata, { team: 'ops' });
      assert.equal(updated.description, 'flag wins');
      assert.equal(updated.version, 2);
    });

    it('deletes by name: then gone from get and list', async () => {
      const { body: a } = await s.request('POST', '/v1/agents', { body: { name: 'doomed' } });
      const out = ok(await cli('agents', 'delete', 'doomed'));
      assert.match(out.stdout, new RegExp(`deleted agent doomed \\(${a.id}\\)`));
      assert.equal((await s.request('GET', `/v1/agents/${a.id}`)).status, 404);
      const list = JSON.parse(ok(await cli('agents', 'list', '--limit', '500', '--json')).stdout);
      assert.ok(!list.data.some((x: { id: string }) => x.id === a.id));
      failed(await cli('agents', 'delete', 'doomed'), /no agent named "doomed"/);
      failed(await cli('agents', 'delete', a.id), /HTTP 404 not_found: agent .* not found/);
    });

    it('reports server errors on one line with status and code, and changes nothing', async () => {
      const before = (await s.request('GET', '/v1/agents')).body.total;
      failed(await cli('agents', 'create', '--name', 'bad name!'), /HTTP 400 validation_error: .*name/);
      failed(
        await cli('agents', 'create', '--name', 'ok-name', '--mode', 'sideways'),
        /HTTP 400 validation_error: .*mode/,
      );
      failed(await cli('agents', 'create', '--name', 'helper'), /HTTP 409 conflict: .*helper/);
      const file = path.join(tmp.dir, 'unknown.json');
      writeFileSync(file, JSON.stringify({ colour: 'red' }));
      failed(await cli('agents', 'update', 'helper', '--file', file), /HTTP 400 validation_error: .*colour/);
      failed(await cli('agents', 'list', '--limit', '0'), /HTTP 400 validation_error: .*limit/);
      failed(await cli('agents', 'get', '01890a5d-ac96-774b-bcce-b302099a8057'), /HTTP 404 not_found/);
      assert.equal((await s.request('GET', '/v1/agents')).body.total, before);
    });

    it('refuses client-side mistakes before calling the server', async () => {
      failed(await cli('agents', 'create', '--description', 'no name'), /needs a name/);
      failed(await cli('agents', 'update', 'helper'), /nothing to change/);
      failed(
        await cli('agents', 'create', '--file', path.join(tmp.dir, 'missing.json')),
        /cannot read .*missing\.json/,
      );
    });

    it('takes URL and key from AGENTRY_URL / AGENTRY_API_KEY; flags win over env', async () => {
      const env = { AGENTRY_URL: s.url, AGENTRY_API_KEY: s.adminKey };
      const viaEnv = ok(await runCli(['agents', 'get', 'helper', '--json'], { env, cwd: tmp.dir }));
      assert.equal(JSON.parse(viaEnv.stdout).name, 'helper');
      const wrongEnv = { AGENTRY_URL: 'http://127.0.0.1:9', AGENTRY_API_KEY: 'agk_00000000_wrong' };
      ok(
        await runCli(['agents', 'list', '--url', s.url, '--api-key', s.adminKey], {
          env: wrongEnv,
          cwd: tmp.dir,
        }),
      );
      failed(
        await runCli(['agents', 'list', '--url', s.url], { env: wrongEnv, cwd: tmp.dir }),
        /HTTP 401 unauthorized/,
      );
    });

    it('a read-only key can list but not create (403 forbidden)', async () => {
      const { body: key } = await s.request('POST', '/v1/keys', { body: { scopes: ['read'] } });
      const env = { AGENTRY_URL: s.url, AGENTRY_API_KEY: key.secret };
      ok(await runCli(['agents', 'list'], { env, cwd: tmp.dir }));
      failed(
        await runCli(['agents', 'create', '--name', 'nope'], { env, cwd: tmp.dir }),
        /HTTP 403 forbidden/,
      );
    });

    it('keeps a version per change with its message, lists them and rolls back', async () => {
      ok(await cli('agents', 'create', '--name', 'noted', '--model', 'mock/one', '--message', 'first cut'));
      ok(await cli('agents', 'update', 'noted', '--model', 'mock/two', '--message', 'try two'));
      const listed = ok(await cli('agents', 'versions', 'noted'));
      assert.match(listed.stdout, /^2\s.*mock\/two\s+try two$/m);
      assert.match(listed.stdout, /^1\s.*mock\/one\s+first cut$/m);
      const back = ok(await cli('agents', 'rollback', 'noted', '1', '--json'));
      assert.equal(JSON.parse(back.stdout).version, 3);
      assert.equal(JSON.parse(back.stdout).model, 'mock/one');
      failed(await cli('agents', 'rollback', 'noted', '9'), /no version 9/);
    });
  });
}
