/**
 * JSON answers compressed on the wire: bytes and server CPU per request for `/openapi.json`, a
 * 50-run list and a whole chat completion (the gateway's hot path, under the 1 KiB threshold), each
 * asked with `Accept-Encoding: br, gzip` and without (the floor: the same answer sent as it is). CPU
 * is the whole process's (server and this client share it; the client does the same work in both).
 *
 *   node --import tsx bench/compression.ts [--quick]
 */
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { benchApp, quantile, r3 } from './bench-app.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const N = values.quick ? 40 : 200;

const { app, close } = await benchApp('pglite');
const url = await app.http.listen({ host: '127.0.0.1', port: 0 });
const auth = { authorization: `Bearer ${app.adminKey}`, 'content-type': 'application/json' };

function send(method: string, path: string, headers: Record<string, string>, body?: string) {
  return new Promise<number>((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers: { ...auth, ...headers } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      res.on('end', () =>
        res.statusCode === 200 || res.statusCode === 201
          ? resolve(bytes)
          : reject(new Error(`${path}: ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

try {
  const agent = JSON.parse(
    await new Promise<string>((resolve, reject) => {
      const req = request(`${url}/v1/agents`, { method: 'POST', headers: auth }, (res) => {
        let t = '';
        res.on('data', (c) => {
          t += c;
        });
        res.on('end', () => resolve(t));
      });
      req.on('error', reject);
      req.end(
        JSON.stringify({ name: 'wire', system_prompt: 'You answer questions about the heron survey.' }),
      );
    }),
  ) as { id: string };
  for (let i = 0; i < 50; i++) {
    const message = `question ${i}: how many herons were counted at the north pond this morning?`;
    await send('POST', `/v1/agents/${agent.id}/chat`, {}, JSON.stringify({ message, stream: false }));
  }
  const completion = JSON.stringify({
    model: 'mock/default',
    messages: [{ role: 'user', content: 'hello there' }],
  });
  const cases = [
    { name: 'openapi.json', method: 'GET', path: '/openapi.json' },
    { name: 'runs list (50)', method: 'GET', path: '/v1/runs?limit=50' },
    { name: 'chat completion', method: 'POST', path: '/v1/chat/completions', body: completion },
  ];
  const rows = [];
  const ratios: Record<string, number> = {};
  for (const c of cases) {
    const measure = async (headers: Record<string, string>) => {
      for (let i = 0; i < 5; i++) await send(c.method, c.path, headers, c.body);
      const cpu: number[] = [];
      let bytes = 0;
      for (let i = 0; i < N; i++) {
        const t0 = process.cpuUsage();
        bytes = await send(c.method, c.path, headers, c.body);
        const d = process.cpuUsage(t0);
        cpu.push((d.user + d.system) / 1000);
      }
      return { bytes, cpu_ms_p50: r3(quantile(cpu, 0.5)) };
    };
    const plain = await measure({});
    const packed = await measure({ 'accept-encoding': 'br, gzip' });
    rows.push({
      answer: c.name,
      bytes_plain: plain.bytes,
      bytes_br: packed.bytes,
      cpu_ms_plain: plain.cpu_ms_p50,
      cpu_ms_br: packed.cpu_ms_p50,
    });
    const key = c.name.split(' ')[0]!.replace('.json', '');
    ratios[`${key}_bytes_vs_plain`] = r3(packed.bytes / plain.bytes);
    ratios[`${key}_cpu_vs_plain`] = r3(packed.cpu_ms_p50 / plain.cpu_ms_p50);
  }
  console.table(rows);
  console.log(JSON.stringify({ bench: 'compression', rows, ratios }));
} finally {
  await close();
}
