/**
 * The A2A agent card names this server: by its configured public URL, or else by the request's own
 * host, which no shared cache may keep and hand to others (a card naming an attacker's host
 * served to every later client).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest } from '../helpers/raw-http.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

async function publicAgent(s: TestServer): Promise<string> {
  const r = await s.request('POST', '/v1/agents', { body: { name: 'carded', visibility: 'public' } });
  assert.equal(r.status, 201, r.text);
  return r.body.id;
}

describe('A2A card: the URL it names, and who may cache it', () => {
  describe('with a2a.public_url', () => {
    let s: TestServer;
    let id: string;
    before(async () => {
      s = await startServer('pglite', { a2a: { public_url: 'https://agents.example.org' } });
      id = await publicAgent(s);
    });
    after(() => s.close());

    it('names the configured URL whatever Host the request names, and may be cached publicly', async () => {
      const r = await rawRequest(`${s.url}/a2a/${id}/.well-known/agent-card.json`, {
        headers: { host: 'agents.example.org' },
      });
      assert.equal(r.status, 200, r.text);
      assert.doesNotMatch(r.text, /attacker/);
      assert.equal(JSON.parse(r.text).supportedInterfaces[0].url, `https://agents.example.org/a2a/${id}/`);
      assert.equal(r.headers['cache-control'], 'public, max-age=60');
      assert.match(String(r.headers.vary), /a2a-version/);
    });
  });

  describe('without a public URL', () => {
    let s: TestServer;
    let id: string;
    before(async () => {
      s = await startServer('pglite');
      id = await publicAgent(s);
    });
    after(() => s.close());

    it('refuses a Host the server does not answer to, forwarded or not', async () => {
      const tries: Record<string, string>[] = [
        { host: 'attacker.example' },
        { 'x-forwarded-host': 'attacker.example' },
      ];
      for (const headers of tries) {
        const r = await rawRequest(`${s.url}/a2a/${id}/.well-known/agent-card.json`, { headers });
        assert.equal(r.status, 403, r.text);
        assert.doesNotMatch(r.text, /supportedInterfaces/);
      }
    });

    it('names the request host, cached privately and varying by it', async () => {
      const r = await rawRequest(`${s.url}/a2a/${id}/.well-known/agent-card.json`);
      assert.equal(r.status, 200, r.text);
      assert.equal(JSON.parse(r.text).supportedInterfaces[0].url, `${s.url}/a2a/${id}/`);
      assert.doesNotMatch(String(r.headers['cache-control']), /public/);
      assert.match(String(r.headers['cache-control']), /private/);
      assert.match(String(r.headers.vary), /host/);
    });
  });
});
