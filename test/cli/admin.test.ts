import assert from 'node:assert/strict';
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
  return r;
};

for (const store of stores) {
  describe(`agentry templates, keys and tenants on ${store}`, () => {
    let s: TestServer;
    const tmp = tempDir();
    let as: (key: string, ...args: string[]) => Promise<CliResult>;
    let cli: (...args: string[]) => Promise<CliResult>;
    before(async () => {
      // No key cache, so a revoked key is refused on the very next call.
      s = await startServer(store, { auth: { key_cache_ms: 0 } });
      as = (key, ...args) => runCli([...args, '--url', s.url, '--api-key', key], { cwd: tmp.dir });
      cli = (...args) => as(s.adminKey, ...args);
    });
    after(async () => {
      await s.close();
      tmp.remove();
    });

    it('templates list works without a key and shows the built-ins', async () => {
      const out = ok(await runCli(['templates', 'list', '--url', s.url], { cwd: tmp.dir })).stdout;
      const lines = out.trimEnd().split('\n');
      assert.match(lines[0]!, /^ID\s+NAME\s+KIND\s+MODE\s+TOOLS\s+SKILLS$/);
      assert.ok(lines.some((l) => /^basic-assistant\s+.*builtin\s+COLLABORATIVE\s+read_file,/.test(l)));
      assert.ok(lines.some((l) => /^researcher\s+.*builtin\s+COLLABORATIVE\s+web_search,/.test(l)));
      const json = JSON.parse(ok(await cli('templates', 'list', '--json')).stdout);
      assert.deepEqual(json, (await s.request('GET', '/v1/templates')).body);
    });

    it('keys create prints the secret once; the key works with its scopes; list never shows it', async () => {
      const human = ok(await cli('keys', 'create', '--scopes', 'read,write', '--name', 'ci'));
      assert.match(human.stdout, /shown only this once/);
      const secret = /^ {2}(agk_\S+)$/m.exec(human.stdout)?.[1];
      assert.ok(secret, human.stdout);
      assert.match(human.stdout, /^scopes:\s+read,write$/m);
      ok(await as(secret, 'agents', 'create', '--name', 'by-ci'));
      failed(await as(secret, 'keys', 'list'), /HTTP 403 forbidden/);

      const listed = ok(await cli('keys', 'list')).stdout;
      assert.match(listed.split('\n')[0]!, /^ID\s+NAME\s+PREFIX\s+SCOPES\s+CREATED\s+REVOKED$/);
      assert.match(listed, /\bci\s+agk_\w+\s+read,write\b/);
      assert.ok(!listed.includes(secret), 'the secret is never listed');
      const json = JSON.parse(ok(await cli('keys', 'list', '--json')).stdout);
      assert.ok(json.data.every((k: Record<string, unknown>) => !('secret' in k)));
    });

    it('keys revoke: the key stops working and shows as revoked', async () => {
      const key = JSON.parse(ok(await cli('keys', 'create', '--scopes', 'read', '--json')).stdout);
      assert.match(key.secret, /^agk_/);
      ok(await as(key.secret, 'agents', 'list'));
      const out = ok(await cli('keys', 'revoke', key.id));
      assert.match(out.stdout, new RegExp(`revoked API key ${key.prefix} \\(${key.id}\\)`));
      failed(await as(key.secret, 'agents', 'list'), /HTTP 401 unauthorized/);
      const listed = JSON.parse(ok(await cli('keys', 'list', '--json')).stdout);
      assert.ok(listed.data.find((k: { id: string }) => k.id === key.id).revoked_at);
      failed(await cli('keys', 'revoke', '01890a5d-ac96-774b-bcce-b302099a8057'), /HTTP 404 not_found/);
    });

    it('keys create checks its input', async () => {
      failed(await cli('keys', 'create'), /--scopes/);
      failed(await cli('keys', 'create', '--scopes', 'root'), /HTTP 400 validation_error: .*scopes/);
    });

    it('tenants create prints the admin key once; that tenant sees only its own rows', async () => {
      const human = ok(await cli('tenants', 'create', 'acme'));
      assert.match(human.stdout, /^created tenant acme \(/m);
      assert.match(human.stdout, /shown only this once/);
      const acmeKey = /^ {2}(agk_\S+)$/m.exec(human.stdout)?.[1];
      assert.ok(acmeKey, human.stdout);
      const own = JSON.parse(ok(await as(acmeKey, 'agents', 'list', '--json')).stdout);
      assert.equal(own.total, 0, 'acme does not see the default tenant’s agents');
      ok(await as(acmeKey, 'agents', 'create', '--name', 'by-ci'));
      failed(await as(acmeKey, 'tenants', 'list'), /HTTP 403 forbidden/);

      const table = ok(await cli('tenants', 'list')).stdout;
      assert.match(table.split('\n')[0]!, /^ID\s+NAME\s+CREATED$/);
      assert.match(table, /\bdefault\b/);
      assert.match(table, /\bacme\b/);
      const json = JSON.parse(ok(await cli('tenants', 'create', 'globex', '--json')).stdout);
      assert.equal(json.tenant.name, 'globex');
      assert.deepEqual(json.admin_key.scopes, ['admin']);
      failed(await cli('tenants', 'create', 'acme'), /HTTP 409 conflict/);
      failed(await cli('tenants', 'create', 'Not Valid'), /HTTP 400 validation_error/);
    });

    it('keys --tenant lets a root admin manage another tenant’s keys', async () => {
      const key = JSON.parse(
        ok(
          await cli(
            'keys',
            'create',
            '--tenant',
            'acme',
            '--scopes',
            'read',
            '--name',
            'acme-reader',
            '--json',
          ),
        ).stdout,
      );
      const acme = JSON.parse(ok(await cli('tenants', 'list', '--json')).stdout).data.find(
        (t: { name: string }) => t.name === 'acme',
      );
      assert.equal(key.tenant_id, acme.id);
      const listed = ok(await cli('keys', 'list', '--tenant', 'acme')).stdout;
      assert.match(listed, /acme-reader/);
      assert.doesNotMatch(ok(await cli('keys', 'list')).stdout, /acme-reader/);
      ok(await cli('keys', 'revoke', key.id, '--tenant', 'acme'));
      failed(await cli('keys', 'list', '--tenant', 'nosuch'), /HTTP 404 not_found/);
    });
  });
}
