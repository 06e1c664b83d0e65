import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKey, createTenant } from '../auth/fixtures.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { addDoc, countRows, createKb, makePdf, postDoc, search } from './fixtures.ts';

const handbook = `# Handbook

Welcome to the team. This handbook explains how we work.

## Alarms

The alarm panel is in the hallway. Never disable an alarm remotely; a person must be on site.

## Feeding

Feed the dog twice a day. Fresh water must always be available.
`;

for (const store of stores) {
  describe(`knowledge bases on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store);
    });
    after(() => s.close());

    it('creates, lists, renames and deletes a knowledge base of each kind', async () => {
      for (const kind of ['persona', 'domain', 'tools', 'playbooks', 'custom'])
        await createKb(s, `kb-${kind}`, { kind });
      const list = await s.request('GET', '/v1/knowledge-bases?kind=persona');
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.body.data.map((k: { name: string }) => k.name),
        ['kb-persona'],
      );
      const dup = await s.request('POST', '/v1/knowledge-bases', { body: { name: 'kb-persona' } });
      assert.equal(dup.status, 409);
      const id = list.body.data[0].id;
      const renamed = await s.request('PATCH', `/v1/knowledge-bases/${id}`, {
        body: { description: 'who I am' },
      });
      assert.equal(renamed.status, 200, renamed.text);
      assert.equal(renamed.body.description, 'who I am');
      assert.equal((await s.request('DELETE', `/v1/knowledge-bases/${id}`)).status, 204);
      assert.equal((await s.request('GET', `/v1/knowledge-bases/${id}`)).status, 404);
    });

    it('ingests Markdown by headings and paragraphs, keeping each chunk heading path and position', async () => {
      const kb = await createKb(s, 'md');
      const res = await addDoc(s, kb.id, { source: 'guide/handbook.md', content: handbook });
      assert.equal(res.status, 'created');
      assert.equal(res.document.chunk_count, 3);
      const rows = await s.app.db.query<{
        heading_path: string[];
        position: number;
        content: string;
      }>('select heading_path, position, content from chunks where document_id = $1 order by position', [
        res.document.id,
      ]);
      assert.deepEqual(
        rows.map((r) => [r.position, r.heading_path]),
        [
          [0, ['Handbook']],
          [1, ['Handbook', 'Alarms']],
          [2, ['Handbook', 'Feeding']],
        ],
      );
      assert.match(rows[1]!.content, /Never disable an alarm remotely/);
      const doc = await s.request('GET', `/v1/knowledge-bases/${kb.id}/documents/${res.document.id}`);
      assert.equal(doc.body.title, 'Handbook');
      assert.equal(doc.body.format, 'markdown');
    });

    it('ingests text, HTML, JSON and PDF (JSON base64 and multipart upload)', async () => {
      const kb = await createKb(s, 'formats');
      await addDoc(s, kb.id, { source: 'notes.txt', content: 'Plain notes about the garden hose.' });
      await addDoc(s, kb.id, {
        source: 'page.html',
        content:
          '<html><head><title>Climate</title><script>var secret = 1</script></head><body><h1>Climate</h1><p>Glaciers retreat.</p><h2>Oceans</h2><p>Sea levels rise.</p></body></html>',
      });
      await addDoc(s, kb.id, {
        source: 'device.json',
        content: JSON.stringify({
          title: 'Door sensor',
          settings: { sensitivity: 'high', zones: ['porch', 'garage'] },
        }),
      });
      await addDoc(s, kb.id, {
        source: 'manual.pdf',
        content_base64: makePdf([['Thermostat manual'], ['Reset by holding the button.']]).toString('base64'),
      });
      const form = new FormData();
      form.append('file', new Blob([makePdf([['Warranty lasts two years.']])]), 'warranty.pdf');
      form.append('metadata', JSON.stringify({ lang: 'en' }));
      const up = await fetch(`${s.url}/v1/knowledge-bases/${kb.id}/documents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.adminKey}` },
        body: form,
      });
      assert.equal(up.status, 201, await up.clone().text());
      const uploaded = (await up.json()) as {
        document: { source: string; format: string; metadata: unknown };
      };
      assert.deepEqual(
        [uploaded.document.source, uploaded.document.format, uploaded.document.metadata],
        ['warranty.pdf', 'pdf', { lang: 'en' }],
      );

      const chunks = await s.app.db.query<{
        source: string;
        heading_path: string[];
        content: string;
      }>(
        `select d.source, c.heading_path, c.content from chunks c join documents d on d.id = c.document_id
          where c.knowledge_base_id = $1 order by d.source, c.position`,
        [kb.id],
      );
      const of = (source: string) => chunks.filter((c) => c.source === source);
      assert.deepEqual(
        of('page.html').map((c) => [c.heading_path, c.content]),
        [
          [['Climate'], 'Glaciers retreat.'],
          [['Climate', 'Oceans'], 'Sea levels rise.'],
        ],
      );
      assert.ok(!chunks.some((c) => c.content.includes('secret')), 'scripts are not text');
      assert.deepEqual(
        of('device.json').map((c) => c.heading_path),
        [['title'], ['settings']],
      );
      assert.match(of('device.json')[1]!.content, /settings\.zones\[1\]: garage/);
      assert.deepEqual(
        of('manual.pdf').map((c) => [c.heading_path, c.content]),
        [
          [['Page 1'], 'Thermostat manual'],
          [['Page 2'], 'Reset by holding the button.'],
        ],
      );
      assert.equal(of('warranty.pdf')[0]!.content, 'Warranty lasts two years.');
      assert.equal(of('notes.txt')[0]!.content, 'Plain notes about the garden hose.');
      const hits = await search(s, kb.id, { query: 'garage zones' });
      assert.equal(hits.data[0]!.document.source, 'device.json');
    });

    it('does nothing when an unchanged document is sent again, and replaces the chunks of a changed one', async () => {
      const kb = await createKb(s, 'idempotent');
      const first = await addDoc(s, kb.id, { source: 'a.md', content: handbook });
      const [{ n: journalBefore }] = (await s.app.db.query<{ n: number }>(
        `select count(*)::int as n from journal where target = $1`,
        [first.document.id],
      )) as [{ n: number }];
      const idsBefore = await s.app.db.query<{ id: string }>('select id from chunks where document_id = $1', [
        first.document.id,
      ]);
      const again = await addDoc(s, kb.id, { source: 'a.md', content: handbook });
      assert.equal(again.status, 'unchanged');
      assert.equal(again.document.id, first.document.id);
      const idsAfter = await s.app.db.query<{ id: string }>('select id from chunks where document_id = $1', [
        first.document.id,
      ]);
      assert.deepEqual(idsAfter, idsBefore, 'the chunks were not rewritten');
      const [{ n: journalAfter }] = (await s.app.db.query<{ n: number }>(
        `select count(*)::int as n from journal where target = $1`,
        [first.document.id],
      )) as [{ n: number }];
      assert.equal(journalAfter, journalBefore);

      const changed = await addDoc(s, kb.id, { source: 'a.md', content: '# Only\n\nOne short section now.' });
      assert.equal(changed.status, 'updated');
      assert.equal(changed.document.id, first.document.id);
      assert.notEqual(changed.document.content_hash, first.document.content_hash);
      assert.equal(await countRows(s, 'chunks', kb.id), 1);
      assert.equal((await search(s, kb.id, { query: 'alarm' })).data.length, 0, 'old chunks are gone');
    });

    it('two first ingests of one source at once leave one document and answer 201 or 409, never 500', async () => {
      const kb = await createKb(s, 'race');
      const send = (content: string) => postDoc(s, kb.id, { source: 'same.md', content });
      const answers = await Promise.all([
        send('# One\n\nfirst'),
        send('# Two\n\nsecond'),
        send('# Three\n\nthird'),
      ]);
      for (const a of answers) assert.ok([200, 201, 409].includes(a.status), a.text);
      assert.ok(answers.some((a) => a.status === 201));
      assert.equal(await countRows(s, 'documents', kb.id), 1);
      const [doc] = await s.app.db.query<{ chunk_count: number }>(
        'select chunk_count from documents where knowledge_base_id = $1',
        [kb.id],
      );
      assert.equal(await countRows(s, 'chunks', kb.id), doc!.chunk_count);
    });

    it('replacements of one document at once leave the chunks of exactly one of them', async () => {
      const kb = await createKb(s, 'replace-race');
      await addDoc(s, kb.id, { source: 'same.md', content: '# Zero\n\nfirst version' });
      const versions = Array.from({ length: 8 }, (_, i) => `# V${i}\n\nversion ${i} of the page`);
      const answers = await Promise.all(
        versions.map((content) => postDoc(s, kb.id, { source: 'same.md', content })),
      );
      for (const a of answers) assert.ok([200, 409].includes(a.status), a.text);
      const [doc] = await s.app.db.query<{ id: string; chunk_count: number }>(
        'select id, chunk_count from documents where knowledge_base_id = $1',
        [kb.id],
      );
      const chunks = await s.app.db.query<{ content: string }>(
        'select content from chunks where document_id = $1',
        [doc!.id],
      );
      assert.equal(chunks.length, doc!.chunk_count, chunks.map((c) => c.content).join(' | '));
    });

    it('a document deleted while it is replaced answers 409 or is made again, never 500', async () => {
      const kb = await createKb(s, 'delete-race');
      for (let round = 0; round < 5; round++) {
        const { document } = await addDoc(s, kb.id, { source: 'gone.md', content: `# R${round}\n\nbefore` });
        const path = `/v1/knowledge-bases/${kb.id}/documents`;
        const answers = await Promise.all([
          ...[1, 2, 3].map((i) =>
            postDoc(s, kb.id, { source: 'gone.md', content: `# R${round}\n\nafter ${i}` }),
          ),
          s.request('DELETE', `${path}/${document.id}`),
        ]);
        for (const a of answers) assert.ok([200, 201, 204, 409].includes(a.status), `${a.status} ${a.text}`);
        const docs = await s.app.db.query<{ id: string; chunk_count: number }>(
          'select id, chunk_count from documents where knowledge_base_id = $1',
          [kb.id],
        );
        assert.equal(await countRows(s, 'chunks', kb.id), docs[0]?.chunk_count ?? 0);
        if (docs[0]) await s.request('DELETE', `${path}/${docs[0].id}`);
      }
    });

    it('deleting a document removes its chunks; deleting the knowledge base removes everything', async () => {
      const kb = await createKb(s, 'deletion');
      const a = await addDoc(s, kb.id, { source: 'a.md', content: handbook });
      await addDoc(s, kb.id, { source: 'b.txt', content: 'The alarm code changes monthly.' });
      assert.equal(await countRows(s, 'chunks', kb.id), 4);
      const del = await s.request('DELETE', `/v1/knowledge-bases/${kb.id}/documents/${a.document.id}`);
      assert.equal(del.status, 204);
      assert.equal(await countRows(s, 'chunks', kb.id), 1);
      const hits = await search(s, kb.id, { query: 'alarm' });
      assert.deepEqual(
        hits.data.map((h) => h.document.source),
        ['b.txt'],
      );
      assert.equal(
        (await s.request('DELETE', `/v1/knowledge-bases/${kb.id}/documents/${a.document.id}`)).status,
        404,
      );
      assert.equal((await s.request('DELETE', `/v1/knowledge-bases/${kb.id}`)).status, 204);
      assert.equal(await countRows(s, 'chunks', kb.id), 0);
      assert.equal(await countRows(s, 'documents', kb.id), 0);
    });

    it('searches full-text only without an embedding provider, matching any of the words', async () => {
      const kb = await createKb(s, 'fulltext');
      await addDoc(s, kb.id, { source: 'handbook.md', content: handbook });
      await addDoc(s, kb.id, { source: 'other.txt', content: 'Quarterly revenue grew in the north region.' });
      // No chunk holds all of these words; an AND query would find nothing.
      const hits = await search(s, kb.id, {
        query: 'how often should I feed my dog, and can I disable alarms?',
        top_k: 5,
      });
      assert.equal(hits.mode, 'text');
      assert.deepEqual(hits.data.map((h) => h.heading_path.at(-1)).sort(), ['Alarms', 'Feeding']);
      for (const h of hits.data) {
        assert.equal(h.vector_rank, null);
        assert.ok(h.text_rank !== null && h.score > 0);
        assert.equal(h.document.source, 'handbook.md');
      }
      const one = await search(s, kb.id, { query: 'revenue', top_k: 1 });
      assert.equal(one.data.length, 1);
      assert.equal(one.data[0]!.document.source, 'other.txt');
      const filtered = await search(s, kb.id, {
        query: 'alarm revenue',
        filters: { document_ids: [one.data[0]!.document.id] },
      });
      assert.deepEqual(
        filtered.data.map((h) => h.document.source),
        ['other.txt'],
      );
      assert.equal(
        (await search(s, kb.id, { query: 'the of and' })).data.length,
        0,
        'stop words alone match nothing',
      );
    });

    it('filters by document metadata', async () => {
      const kb = await createKb(s, 'meta');
      await addDoc(s, kb.id, { source: 'en.txt', content: 'alarm settings', metadata: { lang: 'en' } });
      await addDoc(s, kb.id, { source: 'de.txt', content: 'alarm Einstellungen', metadata: { lang: 'de' } });
      const hits = await search(s, kb.id, { query: 'alarm', filters: { metadata: { lang: 'de' } } });
      assert.deepEqual(
        hits.data.map((h) => h.document.source),
        ['de.txt'],
      );
    });

    it('keeps tenants apart: another tenant gets 404 for the knowledge base, its documents and its search', async () => {
      const kb = await createKb(s, 'private');
      const doc = await addDoc(s, kb.id, { source: 'secret.txt', content: 'The vault code is 4242.' });
      const other = await createTenant(s, `other-${store}`);
      const same = await createKb(s, 'private', { key: other.adminKey });
      await addDoc(
        s,
        same.id,
        { source: 'mine.txt', content: 'Nothing about vaults here. vault' },
        other.adminKey,
      );
      for (const [method, path, body] of [
        ['GET', `/v1/knowledge-bases/${kb.id}`, undefined],
        ['PATCH', `/v1/knowledge-bases/${kb.id}`, { description: 'x' }],
        ['DELETE', `/v1/knowledge-bases/${kb.id}`, undefined],
        ['GET', `/v1/knowledge-bases/${kb.id}/documents`, undefined],
        ['GET', `/v1/knowledge-bases/${kb.id}/documents/${doc.document.id}`, undefined],
        ['DELETE', `/v1/knowledge-bases/${kb.id}/documents/${doc.document.id}`, undefined],
        ['POST', `/v1/knowledge-bases/${kb.id}/documents`, { source: 'x.txt', content: 'x' }],
        ['POST', `/v1/knowledge-bases/${kb.id}/search`, { query: 'vault' }],
      ] as const) {
        const res = await s.request(method, path, { body, key: other.adminKey });
        assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
      }
      const theirs = await search(s, same.id, { query: 'vault code 4242' }, other.adminKey);
      assert.deepEqual(
        theirs.data.map((h) => h.document.source),
        ['mine.txt'],
      );
      const list = await s.request('GET', '/v1/knowledge-bases', { key: other.adminKey });
      assert.deepEqual(
        list.body.data.map((k: { id: string }) => k.id),
        [same.id],
      );
      assert.equal(await countRows(s, 'documents', kb.id), 1, 'nothing was deleted or added');
    });

    it('asks for the right scopes: read may search and list, only write may change', async () => {
      const kb = await createKb(s, 'scoped');
      const reader = await createKey(s, ['read']);
      assert.equal((await s.request('GET', '/v1/knowledge-bases', { key: reader.secret })).status, 200);
      assert.equal(
        (
          await s.request('POST', `/v1/knowledge-bases/${kb.id}/search`, {
            body: { query: 'x' },
            key: reader.secret,
          })
        ).status,
        200,
      );
      for (const [method, path, body] of [
        ['POST', '/v1/knowledge-bases', { name: 'nope' }],
        ['POST', `/v1/knowledge-bases/${kb.id}/documents`, { source: 'a.txt', content: 'a' }],
        ['DELETE', `/v1/knowledge-bases/${kb.id}`, undefined],
      ] as const) {
        assert.equal(
          (await s.request(method, path, { body, key: reader.secret })).status,
          403,
          `${method} ${path}`,
        );
      }
      assert.equal((await s.request('GET', '/v1/knowledge-bases', { key: null })).status, 401);
      assert.equal(await countRows(s, 'documents', kb.id), 0);
    });

    it('answers bad input with 4xx and creates nothing', async () => {
      const kb = await createKb(s, 'strict');
      const bad: [Record<string, unknown>, number][] = [
        [{ source: 'a.txt' }, 400],
        [{ source: 'a.txt', content: 'x', content_base64: 'eA==' }, 400],
        [{ source: '', content: 'x' }, 400],
        [{ source: 'a.txt', content: 'x', format: 'docx' }, 400],
        [{ source: 'a.txt', content: 'x', extra: true }, 400],
        [{ source: 'a.json', content: '{"broken": ' }, 422],
        [{ source: 'a.pdf', content: 'not a pdf at all' }, 422],
      ];
      for (const [body, status] of bad) {
        const res = await s.request('POST', `/v1/knowledge-bases/${kb.id}/documents`, { body });
        assert.equal(res.status, status, `${JSON.stringify(body)}: ${res.text}`);
        assert.ok(res.body.error.code && res.body.request_id);
      }
      const form = new FormData();
      form.append('source', 'x.txt');
      const noFile = await fetch(`${s.url}/v1/knowledge-bases/${kb.id}/documents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.adminKey}` },
        body: form,
      });
      assert.equal(noFile.status, 400);
      // One byte over the limit, uploaded as a file: refused while streaming, in the error format.
      const limit = s.app.services.config.memory.max_document_bytes;
      const big = new FormData();
      big.append('file', new Blob([Buffer.alloc(limit + 1, 'a')]), 'big.txt');
      const tooBig = await fetch(`${s.url}/v1/knowledge-bases/${kb.id}/documents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.adminKey}` },
        body: big,
      });
      const tooBigText = await tooBig.text();
      assert.equal(tooBig.status, 413, tooBigText);
      const tooBigBody = JSON.parse(tooBigText);
      assert.equal(tooBigBody.error.code, 'payload_too_large');
      assert.match(
        tooBigBody.error.message,
        new RegExp(`big\\.txt is larger than the limit of ${limit} bytes`),
      );
      assert.ok(tooBigBody.request_id);
      for (const body of [
        { query: '' },
        { query: 'x', top_k: 0 },
        { query: 'x', top_k: 1000 },
        { query: 'x', filters: { x: 1 } },
      ]) {
        const res = await s.request('POST', `/v1/knowledge-bases/${kb.id}/search`, { body });
        assert.equal(res.status, 400, JSON.stringify(body));
      }
      for (const body of [{ name: 'has space' }, { name: 'x', kind: 'secret' }, {}]) {
        assert.equal(
          (await s.request('POST', '/v1/knowledge-bases', { body })).status,
          400,
          JSON.stringify(body),
        );
      }
      assert.equal((await s.request('GET', '/v1/knowledge-bases/not-a-uuid')).status, 400);
      assert.equal(await countRows(s, 'documents', kb.id), 0);
      assert.equal(await countRows(s, 'chunks', kb.id), 0);
    });
  });
}
