/**
 * A burst of streamed answers to clients that never read, against one `agentry serve` process
 * (PGlite, as `npm start`), from this process on loopback: N streamed `/v1/chat/completions` whose
 * mock answer is a few MB of SSE (the prompt echoed, `max_tokens` high enough) and N streamed agent
 * chats, each on a raw socket that writes its request and then reads nothing (it takes the first
 * chunk, to learn the status, then pauses). Meanwhile `/health/live` is asked every 100 ms. The
 * sockets stay open `--hold` seconds, are then destroyed, and the server's resident memory is read
 * again `--settle` seconds later.
 *
 *   npm run bench:slow-readers -- [--completions 100] [--chats 100] [--prompt-kb 250]
 *     [--chat-kb 150] [--hold 20] [--settle 30]
 *
 * Prints a table and a JSON line: /health/live p50/p99/max during the burst, RSS before, at peak and
 * `--settle` s after the sockets closed, and the status lines the clients got.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { quantile, r3, rssMb, spawnServe } from './bench-app.ts';

const { values } = parseArgs({
  options: {
    completions: { type: 'string', default: '100' },
    chats: { type: 'string', default: '100' },
    'prompt-kb': { type: 'string', default: '250' },
    'chat-kb': { type: 'string', default: '150' },
    hold: { type: 'string', default: '20' },
    settle: { type: 'string', default: '30' },
  },
});
const completions = Number(values.completions);
const chats = Number(values.chats);
const promptBytes = Number(values['prompt-kb']) * 1000;
const chatBytes = Number(values['chat-kb']) * 1000;
const holdSeconds = Number(values.hold);
const settleSeconds = Number(values.settle);
const work = mkdtempSync(path.join(tmpdir(), 'agentry-slow-readers-'));

/**
 * Asks `${url}/health/live` every `everyMs` from a process of its own (this one is busy writing the
 * burst's bodies, which would delay its own probes) until `stop()`; the milliseconds of each answer
 * (or of its failure).
 */
function probe(url: string, everyMs: number) {
  const script = `
    let stop = false;
    process.on('message', () => { stop = true; });
    const times = []; const statuses = {};
    (async () => {
      while (!stop) {
        const t0 = performance.now();
        const status = await fetch(${JSON.stringify(`${url}/health/live`)}, { signal: AbortSignal.timeout(120000) })
          .then(async (r) => { await r.arrayBuffer(); return r.status; }).catch(() => 0);
        times.push(performance.now() - t0);
        statuses[status] = (statuses[status] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, ${everyMs}));
      }
      process.send({ times, statuses }, () => process.exit(0));
    })();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const result = new Promise<{ times: number[]; statuses: Record<string, number> }>((resolve) =>
    child.once('message', (m) => resolve(m as { times: number[]; statuses: Record<string, number> })),
  );
  return {
    stop: () => {
      child.send('stop');
      return result;
    },
  };
}

/**
 * Writes one HTTP request on a raw socket and reads only the first chunk of the answer (its status
 * line), then pauses: the server's bytes pile up in the socket buffers and, past them, in the server.
 */
function nonReader(base: URL, key: string, route: string, body: string) {
  const socket = net.connect({ host: base.hostname, port: Number(base.port) });
  const status = new Promise<string>((resolve) => {
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      resolve(/^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1', 0, 64))?.[1] ?? 'other');
    });
    socket.once('close', () => resolve('closed'));
    socket.once('error', () => resolve('error'));
  });
  const length = Buffer.byteLength(body);
  socket.write(
    `POST ${route} HTTP/1.1\r\nhost: ${base.host}\r\nauthorization: Bearer ${key}\r\n` +
      `content-type: application/json\r\ncontent-length: ${length}\r\naccept: text/event-stream\r\n\r\n`,
  );
  socket.write(body);
  return { socket, status };
}

const summary = (xs: number[]) => ({
  p50: r3(quantile(xs, 0.5)),
  p99: r3(quantile(xs, 0.99)),
  max: r3(Math.max(...xs)),
});

const { child, url, key } = await spawnServe(work);
const pid = child.pid!;
const base = new URL(url);
const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
try {
  const agent = await fetch(`${url}/v1/agents`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ name: 'slow-readers', model: 'mock/default' }),
  }).then((r) => r.json() as Promise<{ id: string }>);
  // Warm-up, read to the end: the first completion and chat load and compile the modules they use,
  // a one-off pause that is not the burst's.
  for (const [route, body] of [
    [
      '/v1/chat/completions',
      { model: 'mock/default', stream: true, messages: [{ role: 'user', content: 'hi' }] },
    ],
    [`/v1/agents/${agent.id}/chat`, { message: 'hi', stream: true }],
  ] as const)
    await fetch(`${url}${route}`, { method: 'POST', headers: auth, body: JSON.stringify(body) }).then((r) =>
      r.text(),
    );
  await sleep(2000);
  const idleProbe = probe(url, 100);
  await sleep(3000);
  const idle = await idleProbe.stop();
  const before = rssMb(pid);

  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 50);
  const live = probe(url, 100);
  const words = 'lorem ipsum dolor sit amet '.repeat(Math.ceil(promptBytes / 27));
  const prompt = words.slice(0, promptBytes);
  const chatText = words.slice(0, chatBytes);
  const clients: Array<ReturnType<typeof nonReader> & { kind: string }> = [];
  for (let i = 0; i < Math.max(completions, chats); i++) {
    if (i < completions) {
      const body = JSON.stringify({
        model: 'mock/default',
        stream: true,
        max_tokens: 1_000_000,
        messages: [{ role: 'user', content: `${i} ${prompt}` }],
      });
      clients.push({ kind: 'completion', ...nonReader(base, key, '/v1/chat/completions', body) });
    }
    if (i < chats) {
      const body = JSON.stringify({ message: `${i} ${chatText}`, stream: true });
      clients.push({ kind: 'chat', ...nonReader(base, key, `/v1/agents/${agent.id}/chat`, body) });
    }
  }
  await sleep(holdSeconds * 1000);
  const answers: Record<string, Record<string, number>> = { completion: {}, chat: {} };
  for (const c of clients) {
    const status = await Promise.race([c.status, sleep(0, 'none')]);
    const byKind = answers[c.kind]!;
    byKind[status] = (byKind[status] ?? 0) + 1;
  }
  const atHold = rssMb(pid);
  for (const c of clients) c.socket.destroy();
  await sleep(settleSeconds * 1000);
  clearInterval(sampler);
  const after = rssMb(pid);
  const probed = await live.stop();

  const result = {
    completions,
    chats,
    prompt_bytes: promptBytes,
    chat_bytes: chatBytes,
    hold_s: holdSeconds,
    answers,
    rss_mb: {
      before: r3(before),
      peak: r3(peak),
      at_hold_end: r3(atHold),
      [`after_${settleSeconds}s`]: r3(after),
    },
    health_live_ms: { idle: summary(idle.times), burst: summary(probed.times), statuses: probed.statuses },
  };
  console.log(
    `${completions} streamed completions (${promptBytes} B prompt echoed) + ${chats} streamed agent chats on sockets that do not read, held ${holdSeconds} s`,
  );
  console.log(`answers (status line, 'none' = no byte yet): ${JSON.stringify(answers)}`);
  console.log('| measure | idle | burst |');
  console.log('| --- | --- | --- |');
  console.log(
    `| /health/live p50 / p99 / max ms | ${result.health_live_ms.idle.p50} / ${result.health_live_ms.idle.p99} / ${result.health_live_ms.idle.max} | ${result.health_live_ms.burst.p50} / ${result.health_live_ms.burst.p99} / ${result.health_live_ms.burst.max} |`,
  );
  console.log(
    `| RSS MB before / peak / end of hold / ${settleSeconds} s after | ${r3(before)} | ${r3(peak)} / ${r3(atHold)} / ${r3(after)} |`,
  );
  console.log(JSON.stringify({ bench: 'slow-readers', ...result }));
} finally {
  child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
