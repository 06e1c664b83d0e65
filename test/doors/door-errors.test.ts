/**
 * Every vendor door answers the framework's client errors (a body over the limit, a body that is not
 * JSON) in its vendor's shape with the same codes: one mapper (src/doors/wire-errors.ts) decides
 * status and code for all of them. The Responses and Messages doors once said `bad_request` where
 * chat completions said `payload_too_large`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.ts';

// Chat completions takes media up to its own larger limit (MEDIA_BODY_LIMIT): its 413 is tested elsewhere.
const openaiDoors = ['/v1/chat/completions', '/v1/responses', '/v1/embeddings'];
const limited = (path: string) => path !== '/v1/chat/completions';

describe('front doors: one error mapper', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite', { server: { body_limit: 4096 } });
  });
  after(() => s.close());

  const big = JSON.stringify({ model: 'mock/echo', input: 'x'.repeat(8192) });

  for (const path of openaiDoors) {
    it(`${path}: 413 and 415 in OpenAI's shape, with the house's codes`, async () => {
      if (limited(path)) {
        const tooBig = await s.request('POST', path, { body: big });
        assert.equal(tooBig.status, 413, tooBig.text);
        assert.equal(tooBig.body.error.code, 'payload_too_large');
        assert.equal(tooBig.body.error.type, 'invalid_request_error');
      }
      const notJson = await s.request('POST', path, {
        body: 'hello',
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(notJson.status, 415, notJson.text);
      assert.equal(notJson.body.error.code, 'unsupported_media_type');
    });
  }

  it("/v1/messages: 413 and 415 in Anthropic's shape", async () => {
    const headers = { 'anthropic-version': '2023-06-01' };
    const tooBig = await s.request('POST', '/v1/messages', { body: big, headers });
    assert.equal(tooBig.status, 413, tooBig.text);
    assert.deepEqual(Object.keys(tooBig.body).sort(), ['error', 'request_id', 'type']);
    assert.equal(tooBig.body.error.type, 'request_too_large');
    const notJson = await s.request('POST', '/v1/messages', {
      body: 'hello',
      headers: { ...headers, 'content-type': 'text/plain' },
    });
    assert.equal(notJson.status, 415, notJson.text);
    assert.equal(notJson.body.type, 'error');
  });
});
