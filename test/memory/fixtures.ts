import assert from 'node:assert/strict';
import type { Db } from '../../src/db/db.ts';
import { newId } from '../../src/db/ids.ts';
import { migrate } from '../../src/db/migrate.ts';
import type { Embedder } from '../../src/memory/embeddings.ts';
import { Memory } from '../../src/memory/memory.ts';
import type { SearchResult } from '../../src/memory/schema.ts';
import { openTestPglite } from '../helpers/pglite-snapshot.ts';
import type { TestServer } from '../helpers/server.ts';

/**
 * A small valid PDF with one page per entry, each page's lines drawn as text: built byte by byte
 * (objects, then a cross-reference table with exact offsets) so the test needs no PDF writer.
 */
export function makePdf(pages: string[][]): Buffer {
  const objects: string[] = [];
  const pageIds = pages.map((_, i) => 4 + i * 2);
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`;
  objects[3] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>';
  pages.forEach((lines, i) => {
    const escapeText = (t: string) => t.replace(/[\\()]/g, (c) => `\\${c}`);
    const body = lines
      .map((l, j) => `BT /F1 12 Tf 72 ${720 - j * 40} Td (${escapeText(l)}) Tj ET`)
      .join('\n');
    objects[pageIds[i]!] =
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${pageIds[i]! + 1} 0 R >>`;
    objects[pageIds[i]! + 1] = `<< /Length ${Buffer.byteLength(body)} >>\nstream\n${body}\nendstream`;
  });
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = Buffer.byteLength(out);
    out += `${id} 0 obj\n${objects[id]}\nendobj\n`;
  }
  const xref = Buffer.byteLength(out);
  out += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let id = 1; id < objects.length; id++) out += `${String(offsets[id]).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

export async function createKb(
  s: TestServer,
  name: string,
  options: { kind?: string; key?: string } = {},
): Promise<{ id: string; name: string }> {
  const res = await s.request('POST', '/v1/knowledge-bases', {
    body: { name, kind: options.kind ?? 'domain' },
    key: options.key,
  });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

export async function addDoc(
  s: TestServer,
  kbId: string,
  body: Record<string, unknown>,
  key?: string,
): Promise<{ status: string; document: { id: string; chunk_count: number; content_hash: string } }> {
  const res = await postDoc(s, kbId, body, key);
  assert.ok(res.status === 200 || res.status === 201, res.text);
  return res.body;
}

/** Sends one document and returns the answer as it is, for tests that expect refusals. */
export function postDoc(s: TestServer, kbId: string, body: Record<string, unknown>, key?: string) {
  return s.request('POST', `/v1/knowledge-bases/${kbId}/documents`, { body, key });
}

export async function search(s: TestServer, kbId: string, body: Record<string, unknown>, key?: string) {
  const res = await s.request('POST', `/v1/knowledge-bases/${kbId}/search`, { body, key });
  assert.equal(res.status, 200, res.text);
  return res.body as SearchResult;
}

/** Rows of a table for one knowledge base, read straight from the store. */
export async function countRows(s: TestServer, table: 'chunks' | 'documents', kbId: string): Promise<number> {
  // The table name is one of two literals above, never input.
  const [row] = await s.app.db.query<{ n: number }>(
    `select count(*)::int as n from ${table} where knowledge_base_id = $1`,
    [kbId],
  );
  return row!.n;
}

/**
 * The memory layer over a fresh in-memory PGlite store, with one tenant and one domain knowledge
 * base named `name`, for tests that work below the HTTP API.
 */
export async function pgliteKb(
  name: string,
  embedder: Embedder,
  maxChars: number,
): Promise<{ db: Db; memory: Memory; tenantId: string; kbId: string }> {
  const db = await openTestPglite();
  await migrate(db);
  const tenantId = newId();
  await db.query('insert into tenants (id, name) values ($1, $2)', [tenantId, name]);
  const memory = await Memory.open(db, {
    chunking: { maxChars, overlapChars: 0 },
    maxDocumentBytes: 10 * 1024 * 1024,
    vectorCacheChunks: 10_000,
    embedder,
  });
  const kb = await memory.knowledgeBases.create(
    tenantId,
    { name, kind: 'domain', description: '', metadata: {} },
    { tenantId, actor: 'system' },
  );
  return { db, memory, tenantId, kbId: kb.id };
}
