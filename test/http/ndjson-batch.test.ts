/**
 * The NDJSON batch reader parses each line as it completes and stops at the first document past the
 * bound: a body of 100,000 lines costs at most the bound's parses before its 413, not 100,000.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { AppError } from '../../src/errors.ts';
import { BadLine, NdjsonReader, readNdjson } from '../../src/http/routes/ndjson-batch.ts';
import { parseClientJson } from '../../src/text/client-json.ts';

describe('the NDJSON batch reader', () => {
  it('stops parsing at the first line past the bound: 413 after 10 parses of 100,000 lines', () => {
    let parsed = 0;
    const reader = new NdjsonReader({ maxItems: 10, maxDepth: 64 }, (text, depth, where) => {
      parsed += 1;
      return parseClientJson(text, depth, where);
    });
    const body = '{"source":"a.md","content":"x"}\n'.repeat(100_000);
    assert.throws(
      () => {
        // In pieces, as a socket delivers them.
        for (let i = 0; i < body.length; i += 65_536) reader.push(body.slice(i, i + 65_536));
        reader.end();
      },
      (err: unknown) =>
        err instanceof AppError &&
        err.status === 413 &&
        /more than 10 documents in one batch; send at most 10/.test(err.message),
    );
    assert.equal(parsed, 10);
  });

  it('joins lines split across pieces, skips blank lines, keeps a bad line as its own error', () => {
    const reader = new NdjsonReader({ maxItems: 10, maxDepth: 64 });
    for (const piece of ['{"a":', '1}\n\n  \n{not json\r\n{"b"', ':[2]}']) reader.push(piece);
    const items = reader.end();
    assert.deepEqual(items[0], { a: 1 });
    assert.ok(items[1] instanceof BadLine);
    assert.match(items[1].error.message, /malformed line 2/);
    assert.deepEqual(items[2], { b: [2] });
    assert.equal(items.length, 3);
  });

  it('refuses a body over its byte limit, declared or not (413)', async () => {
    const limits = { maxItems: 10, maxDepth: 64, maxBytes: 100 };
    const long = `{"content":"${'y'.repeat(200)}"}\n`;
    const tooLarge = (err: unknown) => err instanceof AppError && err.status === 413;
    await assert.rejects(readNdjson(Readable.from([Buffer.from(long)]), limits), tooLarge);
    await assert.rejects(readNdjson(Readable.from([Buffer.from('{}\n')]), limits, 5_000), tooLarge);
    // A character split between two chunks is decoded whole.
    const euro = Buffer.from('{"s":"€"}\n');
    const items = await readNdjson(Readable.from([euro.subarray(0, 8), euro.subarray(8)]), limits);
    assert.deepEqual(items, [{ s: '€' }]);
  });
});
