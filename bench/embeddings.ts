/**
 * The offline encoder under a big call: `/v1/embeddings` with `--inputs` texts (2,048, the route's
 * most) on `mock/universal-sentence-encoder`, while one client probes `/health/live` as fast as it
 * answers, each probe on a fresh connection. Floor: the same probes with nothing encoding, same run.
 * Prints the longest probe (how long the event loop was held) and its ratio to the floor, and the
 * encoding rate of rounds without probes (`--quiet-rounds`: the probes take CPU from the encoder on
 * a small machine). The server runs in a child, from the sources.
 * Usage: npm run bench:embeddings -- [--inputs 2048] [--rounds 1] [--quiet-rounds 1]
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { forkChild, r3, serveBenchApp } from './bench-app.ts';

if (process.argv[2] === 'child') {
  await serveBenchApp('pglite');
} else {
  const { values } = parseArgs({
    options: {
      inputs: { type: 'string', default: '2048' },
      rounds: { type: 'string', default: '1' },
      'quiet-rounds': { type: 'string', default: '1' },
    },
  });
  const inputs = Number(values.inputs);
  const { child, url, key } = await forkChild<{ url: string; key: string }>(import.meta.url, ['child']);
  /** One GET on a fresh connection: no keep-alive socket the server may close while it was held. */
  const probe = () =>
    new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      http
        .get(`${url}/health/live`, { agent: false }, (res) =>
          res.resume().on('end', () => resolve(performance.now() - t0)),
        )
        .on('error', reject);
    });
  const embed = async (n: number) => {
    const res = await fetch(`${url}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'mock/universal-sentence-encoder',
        input: Array.from(
          { length: n },
          (_, i) => `note ${i}: the quick brown fox jumps over the lazy dog ${i % 97}`,
        ),
      }),
    });
    const body = (await res.json()) as { data?: unknown[] };
    if (res.status !== 200 || body.data?.length !== n) throw new Error(`embeddings answered ${res.status}`);
  };
  try {
    const t0 = performance.now();
    await embed(1);
    const loadMs = performance.now() - t0;
    const idle: number[] = [];
    for (let i = 0; i < 200; i++) idle.push(await probe());
    const rounds: { seconds: number; inputs_per_s: number; probes: number; max_ms: number }[] = [];
    for (let round = 0; round < Number(values.rounds); round++) {
      let encoding = true;
      const started = performance.now();
      const call = embed(inputs).finally(() => {
        encoding = false;
      });
      const during: number[] = [];
      while (encoding) during.push(await probe());
      await call;
      const ms = performance.now() - started;
      rounds.push({
        seconds: r3(ms / 1000),
        inputs_per_s: r3((inputs / ms) * 1000),
        probes: during.length,
        max_ms: r3(Math.max(...during)),
      });
    }
    const quiet: number[] = [];
    for (let round = 0; round < Number(values['quiet-rounds']); round++) {
      const started = performance.now();
      await embed(inputs);
      quiet.push(r3((inputs / (performance.now() - started)) * 1000));
    }
    const idleMax = Math.max(...idle);
    const worst = Math.max(...rounds.map((r) => r.max_ms));
    const result = {
      inputs,
      first_call_ms: r3(loadMs),
      idle_health_live_max_ms: r3(idleMax),
      rounds,
      quiet_inputs_per_s: quiet,
      health_live_max_ratio: r3(worst / idleMax),
    };
    console.log(`first call (thread and model load) ${result.first_call_ms} ms`);
    console.log(
      '| round | seconds | inputs/s | /health/live probes | longest probe ms (idle floor) | ratio |',
    );
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const [i, r] of rounds.entries()) {
      console.log(
        `| ${i} | ${r.seconds} | ${r.inputs_per_s} | ${r.probes} | ${r.max_ms} (${result.idle_health_live_max_ms}) | ${r3(r.max_ms / idleMax)} |`,
      );
    }
    console.log(`without probes: ${quiet.join(', ')} inputs/s`);
    console.log(JSON.stringify({ bench: 'embeddings', ...result }));
  } finally {
    child.kill('SIGTERM');
  }
}
