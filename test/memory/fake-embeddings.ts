import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type StoreKind, startServer, type TestServer } from '../helpers/server.ts';

/** Words that mean the same thing share one dimension, so paraphrases land close (like a real model). */
const concepts: string[][] = [
  ['dog', 'dogs', 'puppy', 'puppies', 'canine', 'hound'],
  ['water', 'drink', 'thirsty', 'hydrated'],
  ['alarm', 'alarms', 'siren', 'security'],
  ['feed', 'feeding', 'food', 'meal', 'meals', 'eat', 'hungry'],
  ['disable', 'switch', 'off', 'deactivate'],
];
const DIMS = 64;

/** A bag of concepts: one dimension per concept above, other words hashed into the rest. */
export function fakeEmbedding(text: string): number[] {
  const v = new Array<number>(DIMS).fill(0);
  for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) {
    const c = concepts.findIndex((words) => words.includes(word));
    const dim =
      c >= 0
        ? c
        : concepts.length + (createHash('sha1').update(word).digest()[0]! % (DIMS - concepts.length));
    v[dim]! += c >= 0 ? 3 : 1;
  }
  return v;
}

/** A fake OpenAI-compatible `/v1/embeddings` upstream on loopback; counts the inputs it embedded. */
export class FakeEmbeddings {
  url = '';
  inputs = 0;
  /** Requests answered or under way: a batch ingest should make few. */
  requests = 0;
  /** Called with each request's number (from 1) before it is answered; a returned promise holds the answer. */
  beforeAnswer?: (n: number) => Promise<void> | void;
  /** When set, every request fails with this status. */
  failWith?: number;
  private server?: Server;

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      this.requests += 1;
      await this.beforeAnswer?.(this.requests);
      if (this.failWith) {
        res.writeHead(this.failWith, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'failing on purpose', type: 'server_error' } }));
        return;
      }
      const body = JSON.parse(raw) as { model: string; input: string[] };
      this.inputs += body.input.length;
      const data = body.input.map((t, index) => ({
        object: 'embedding',
        index,
        embedding: fakeEmbedding(t),
      }));
      const tokens = body.input.reduce((n, t) => n + t.split(/\s+/).length, 0);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          object: 'list',
          model: body.model,
          data,
          usage: { prompt_tokens: tokens, total_tokens: tokens },
        }),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

/**
 * A test server whose embeddings are `emb/concept` through the model gateway, served by `upstream`
 * (started here), with any other `memory` settings. Closing the server closes the upstream too.
 */
export async function serverWithEmbeddings(
  store: StoreKind,
  upstream: FakeEmbeddings,
  memory: Record<string, unknown> = {},
): Promise<TestServer> {
  await upstream.start();
  const s = await startServer(store, {
    models: {
      providers: { emb: { type: 'openai', base_url: `${upstream.url}/v1` } },
      retries: { max: 0 },
    },
    memory: { ...memory, embeddings: { provider: 'gateway', model: 'emb/concept' } },
  });
  const closeServer = s.close;
  s.close = async () => {
    await closeServer();
    await upstream.close();
  };
  return s;
}
