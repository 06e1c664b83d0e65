import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CliError, DEFAULT_URL, resolveTarget } from '../../src/cli/client.ts';
import { cell, formatRecord, formatTable } from '../../src/cli/output.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { runCli, tempDir } from './run-cli.ts';

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('resolveTarget: flags, then env, then the credentials file, then the default', () => {
  const tmp = tempDir();
  const file = path.join(tmp.dir, 'credentials.json');
  after(() => tmp.remove());
  writeFileSync(file, JSON.stringify({ url: 'http://file.test:1', api_key: 'file-key', tenant: 'default' }));
  const withFile = { AGENTRY_CREDENTIALS_FILE: file };

  it('flags win over everything', () => {
    const t = resolveTarget(
      { url: 'http://flag.test:1', apiKey: 'flag-key' },
      { ...withFile, AGENTRY_URL: 'http://env.test:1', AGENTRY_API_KEY: 'env-key' },
    );
    assert.equal(t.url, 'http://flag.test:1');
    assert.equal(t.apiKey, 'flag-key');
  });

  it('env wins over the file, each value on its own', () => {
    const t = resolveTarget({}, { ...withFile, AGENTRY_URL: 'http://env.test:1/' });
    assert.equal(t.url, 'http://env.test:1', 'trailing slash dropped');
    assert.equal(t.apiKey, 'file-key', 'the key still comes from the file');
    const k = resolveTarget({ url: 'http://flag.test:1' }, { ...withFile, AGENTRY_API_KEY: 'env-key' });
    assert.equal(k.url, 'http://flag.test:1');
    assert.equal(k.apiKey, 'env-key');
  });

  it('falls back to the file, then to the default URL and no key', () => {
    assert.deepEqual(resolveTarget({}, withFile), {
      url: 'http://file.test:1',
      apiKey: 'file-key',
      credentialsFile: file,
    });
    const none = resolveTarget({}, { AGENTRY_CREDENTIALS_FILE: path.join(tmp.dir, 'absent.json') });
    assert.equal(none.url, DEFAULT_URL);
    assert.equal(none.apiKey, undefined);
  });

  it('reads ./.agentry/credentials.json by default', () => {
    const cwd = process.cwd();
    const dir = path.join(tmp.dir, 'project');
    mkdirSync(path.join(dir, '.agentry'), { recursive: true });
    writeFileSync(path.join(dir, '.agentry', 'credentials.json'), JSON.stringify({ api_key: 'cwd-key' }));
    process.chdir(dir);
    try {
      assert.equal(resolveTarget({}, {}).apiKey, 'cwd-key');
    } finally {
      process.chdir(cwd);
    }
  });

  it('names the file when it is not valid JSON, and rejects a URL that is not http(s)', () => {
    const bad = path.join(tmp.dir, 'bad.json');
    writeFileSync(bad, '{ not json');
    assert.throws(
      () => resolveTarget({}, { AGENTRY_CREDENTIALS_FILE: bad }),
      (e) => e instanceof CliError && e.message.includes(bad),
    );
    assert.throws(() => resolveTarget({ url: 'localhost:7070', apiKey: 'k' }, {}), /invalid server URL/);
  });
});

describe('output helpers', () => {
  it('aligns columns under upper-case headers and cuts long cells', () => {
    const rows = [
      { id: 'a', name: 'short', tools: ['x', 'y'] },
      { id: 'bbbbbb', name: 'n'.repeat(50), tools: [] },
    ];
    const text = formatTable(rows, [
      { header: 'id', value: (r) => r.id },
      { header: 'name', value: (r) => r.name, max: 10 },
      { header: 'tools', value: (r) => r.tools },
    ]);
    assert.equal(
      text,
      ['ID      NAME        TOOLS', 'a       short       x,y', `bbbbbb  ${'n'.repeat(9)}…  -`, ''].join('\n'),
    );
    assert.equal(formatTable([], [{ header: 'id', value: () => 1 }]), '(none)\n');
  });

  it('renders records and cells for people', () => {
    assert.equal(
      formatRecord([
        ['id', 1],
        ['long label', null],
      ]),
      'id:          1\nlong label:  -\n',
    );
    assert.equal(cell('line one\n  line two'), 'line one line two');
    assert.equal(cell({ a: 1 }), '{"a":1}');
  });
});

describe('agentry client errors and the credentials file, as a process', () => {
  let s: TestServer;
  const tmp = tempDir();
  before(async () => {
    s = await startServer('pglite');
  });
  after(async () => {
    await s.close();
    tmp.remove();
  });

  it('uses the credentials file the server wrote, found in the working directory', async () => {
    const dir = path.join(tmp.dir, 'work');
    mkdirSync(path.join(dir, '.agentry'), { recursive: true });
    writeFileSync(
      path.join(dir, '.agentry', 'credentials.json'),
      JSON.stringify({ url: s.url, api_key: s.adminKey, tenant: 'default' }),
    );
    const r = await runCli(['agents', 'list', '--json'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).total, 0);
  });

  it('AGENTRY_CREDENTIALS_FILE points elsewhere; a broken file is a one-line error naming it', async () => {
    const file = path.join(tmp.dir, 'elsewhere.json');
    writeFileSync(file, JSON.stringify({ url: s.url, api_key: s.adminKey }));
    const good = await runCli(['tenants', 'list'], { env: { AGENTRY_CREDENTIALS_FILE: file }, cwd: tmp.dir });
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /\bdefault\b/);
    writeFileSync(file, '[1, 2');
    const bad = await runCli(['tenants', 'list'], { env: { AGENTRY_CREDENTIALS_FILE: file }, cwd: tmp.dir });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /^agentry: cannot read credentials file .*elsewhere\.json: .+\n$/);
  });

  it('without any key says where a key can come from, and sends nothing', async () => {
    const r = await runCli(['agents', 'list', '--url', s.url], { cwd: tmp.dir });
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /^agentry: no API key: pass --api-key, set AGENTRY_API_KEY, or run "agentry serve"/,
    );
    assert.equal(r.stdout, '');
  });

  it('an unreachable server is named with its URL', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await runCli(['agents', 'list', '--url', url, '--api-key', s.adminKey], { cwd: tmp.dir });
    assert.notEqual(r.code, 0);
    assert.equal(
      r.stderr,
      `agentry: cannot reach the Agentry server at ${url}: connection refused (is "agentry serve" running?)\n`,
    );
    const t = await runCli(['templates', 'list'], { env: { AGENTRY_URL: url }, cwd: tmp.dir });
    assert.notEqual(t.code, 0);
    assert.match(t.stderr, new RegExp(`cannot reach the Agentry server at ${url}`));
  });

  it('an answer that is not Agentry’s error format still gives status and a snippet', async () => {
    // Stands in for a reverse proxy in front of a stopped server: outside the project, so a fake.
    const proxy = createServer((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body>\n<h1>502 Bad Gateway</h1>\n</body></html>');
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const r = await runCli(['agents', 'list', '--url', url, '--api-key', 'k'], { cwd: tmp.dir });
      assert.notEqual(r.code, 0);
      assert.equal(
        r.stderr,
        `agentry: HTTP 502 from ${url}: <html><body> <h1>502 Bad Gateway</h1> </body></html>\n`,
      );
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });
});
