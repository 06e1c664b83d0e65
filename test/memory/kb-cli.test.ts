import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, tempDir } from '../cli/run-cli.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { makePdf, search } from './fixtures.ts';

describe('agentry kb ingest', () => {
  let s: TestServer;
  let folder: ReturnType<typeof tempDir>;
  const cli = (...args: string[]) => runCli([...args, '--url', s.url, '--api-key', s.adminKey]);
  const write = (file: string, content: string | Buffer) => {
    mkdirSync(path.dirname(path.join(folder.dir, file)), { recursive: true });
    writeFileSync(path.join(folder.dir, file), content);
  };

  before(async () => {
    s = await startServer('pglite');
    folder = tempDir('agentry-kb-');
    write('readme.md', '# Readme\n\nThe robot vacuum docks at night.\n\n## Care\n\nEmpty the bin weekly.');
    write('guides/page.html', '<h1>Guide</h1><p>Charge the battery fully.</p>');
    write('guides/deep/config.json', JSON.stringify({ mode: 'eco', schedule: ['mon', 'thu'] }));
    write('manual.pdf', makePdf([['Warranty card'], ['Two years of cover.']]));
    write('photo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    write('empty.txt', '');
    write('broken.json', '{"half": ');
    write('.hidden.md', '# Hidden');
  });
  after(async () => {
    await s.close();
    folder.remove();
  });

  it('ingests a folder recursively and reports files, chunks and what it skipped with reasons', async () => {
    const r = await cli('kb', 'ingest', 'robot', folder.dir, '--kind', 'domain', '--json');
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.knowledge_base, 'robot');
    assert.equal(summary.files, 7, 'hidden files are not read');
    assert.equal(summary.created, 4);
    assert.equal(summary.chunks, 2 + 1 + 2 + 2);
    const reasons = Object.fromEntries(
      summary.skipped.map((k: { file: string; reason: string }) => [k.file, k.reason]),
    );
    assert.deepEqual(Object.keys(reasons).sort(), ['broken.json', 'empty.txt', 'photo.png']);
    assert.match(reasons['photo.png'], /unsupported type \(\.png\)/);
    assert.equal(reasons['empty.txt'], 'empty');
    assert.match(reasons['broken.json'], /^unprocessable: broken\.json: not valid JSON/);

    const kbs = await s.request('GET', '/v1/knowledge-bases');
    const kb = kbs.body.data.find((k: { name: string }) => k.name === 'robot');
    const docs = await s.request('GET', `/v1/knowledge-bases/${kb.id}/documents`);
    assert.deepEqual(
      docs.body.data.map((d: { source: string }) => d.source),
      ['guides/deep/config.json', 'guides/page.html', 'manual.pdf', 'readme.md'],
    );
    const hits = await search(s, kb.id, { query: 'battery' });
    assert.equal(hits.data[0]!.document.source, 'guides/page.html');
  });

  it('does nothing on a second run over unchanged files, and replaces a changed one', async () => {
    const again = await cli('kb', 'ingest', 'robot', folder.dir, '--json');
    assert.equal(again.code, 0, again.stderr);
    const summary = JSON.parse(again.stdout);
    assert.deepEqual([summary.created, summary.updated, summary.unchanged, summary.chunks], [0, 0, 4, 0]);

    write('readme.md', '# Readme\n\nThe robot vacuum now docks at noon.');
    const changed = await cli('kb', 'ingest', 'robot', folder.dir);
    assert.equal(changed.code, 0, changed.stderr);
    assert.match(
      changed.stdout,
      /^robot: 7 files, 0 created, 1 updated, 3 unchanged, 1 chunks written, 3 skipped$/m,
    );
    assert.match(changed.stdout, /^ {2}skipped photo\.png: unsupported type \(\.png\)$/m);
  });

  it('fails clearly for a missing knowledge base or folder', async () => {
    const noKb = await cli('kb', 'ingest', 'nope', folder.dir);
    assert.equal(noKb.code, 1);
    assert.match(noKb.stderr, /no knowledge base nope \(pass --kind <kind> to create it\)/);
    const noDir = await cli('kb', 'ingest', 'robot', path.join(folder.dir, 'missing'));
    assert.equal(noDir.code, 1);
    assert.match(noDir.stderr, /is not a folder/);
  });

  it('lists knowledge bases and searches from the command line', async () => {
    const list = await cli('kb', 'list');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^ID\s+NAME\s+KIND\s+DOCUMENTS\s+CHUNKS\s+UPDATED$/m);
    assert.match(list.stdout, /\srobot\s+domain\s+4\s+6\s/);
    const found = await cli('kb', 'search', 'robot', 'years of cover', '-k', '1');
    assert.equal(found.code, 0, found.stderr);
    assert.match(found.stdout, /^1\. manual\.pdf › Page 2 \(score /m);
  });
});

describe('agentry kb ingest, human summary', () => {
  let s: TestServer;
  let folder: ReturnType<typeof tempDir>;
  const cli = (...args: string[]) => runCli([...args, '--url', s.url, '--api-key', s.adminKey]);

  before(async () => {
    // The server takes documents up to 1,000 bytes; the command is told to skip files over 4,000 itself.
    s = await startServer('pglite', { memory: { max_document_bytes: 1000 } });
    folder = tempDir('agentry-kb-human-');
    const files: Record<string, string | Buffer> = {
      'alpha.md': '# Alpha\n\nThe vacuum docks at night.\n\n## Bin\n\nEmpty it weekly.',
      'notes/beta.txt': 'Filters are washed every month.',
      LICENSE: 'Apache-2.0',
      'broken.json': '{"half": ',
      'empty.txt': '',
      'photo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47]),
      'server-big.md': `# Big\n\n${'word '.repeat(600)}`,
      'client-huge.md': `# Huge\n\n${'word '.repeat(1000)}`,
    };
    for (const [file, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(folder.dir, file)), { recursive: true });
      writeFileSync(path.join(folder.dir, file), content);
    }
  });
  after(async () => {
    await s.close();
    folder.remove();
  });

  it('prints one summary line and one line per skipped file with its reason, in folder order', async () => {
    const r = await cli('kb', 'ingest', 'vacuum', folder.dir, '--kind', 'domain', '--max-bytes', '4000');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    const expected = [
      /^vacuum: 8 files, 2 created, 0 updated, 0 unchanged, 3 chunks written, 6 skipped$/,
      /^ {2}skipped LICENSE: unsupported type \(no extension\)$/,
      /^ {2}skipped broken\.json: unprocessable: broken\.json: not valid JSON.*$/,
      /^ {2}skipped client-huge\.md: too large \(5008 bytes > 4000\)$/,
      /^ {2}skipped empty\.txt: empty$/,
      /^ {2}skipped photo\.png: unsupported type \(\.png\)$/,
      /^ {2}skipped server-big\.md: payload_too_large: server-big\.md: 3007 bytes is over 1000$/,
    ];
    assert.equal(lines.length, expected.length, r.stdout);
    for (const [i, re] of expected.entries()) assert.match(lines[i]!, re);
    assert.equal(r.stdout.includes('{'), false, 'no JSON without --json');

    // What the summary says was written is what the server holds.
    const kbs = await s.request('GET', '/v1/knowledge-bases');
    const kb = kbs.body.data.find((k: { name: string }) => k.name === 'vacuum');
    assert.deepEqual([kb.document_count, kb.chunk_count], [2, 3]);
  });

  it('says on a second run that nothing changed and still lists what it skipped', async () => {
    const r = await cli('kb', 'ingest', 'vacuum', folder.dir, '--max-bytes', '4000');
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^vacuum: 8 files, 0 created, 0 updated, 2 unchanged, 0 chunks written, 6 skipped\n( {2}skipped .+\n){6}$/,
    );
  });
});

describe('agentry kb ingest progress', () => {
  let s: TestServer;
  let folder: ReturnType<typeof tempDir>;
  before(async () => {
    s = await startServer('pglite');
    folder = tempDir('agentry-kb-progress-');
    for (let i = 0; i < 250; i++)
      writeFileSync(path.join(folder.dir, `turn-${String(i).padStart(3, '0')}.txt`), `turn ${i}`);
  });
  after(async () => {
    await s.close();
    folder.remove();
  });

  it('sends files in batches of 100 and says after each batch how far it is, one line each off a terminal', async () => {
    const r = await runCli([
      'kb',
      'ingest',
      'turns',
      folder.dir,
      '--kind',
      'domain',
      '--url',
      s.url,
      '--api-key',
      s.adminKey,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.stderr.split('\n').filter((l) => l.startsWith('ingested ')),
      ['ingested 100/250 files', 'ingested 200/250 files', 'ingested 250/250 files'],
    );
    assert.match(r.stdout, /^turns: 250 files, 250 created/);
  });
});
