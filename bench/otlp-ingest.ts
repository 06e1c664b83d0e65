/**
 * Spans ingested per second through POST /v1/traces (the real server on PGlite: HTTP, auth, rate
 * counter, decoding, the runs and steps written) against decoding the same bodies alone (the
 * floor), in the same process and run. Each export is OTLP/JSON of `--traces` GenAI traces of four
 * spans (an agent root, a chat call, two tool calls), new trace ids every export, sent one at a time.
 * Prints both rates, their ratio (floor / ingest: how many times decoding alone is faster) and a JSON line.
 *
 *   node --import tsx bench/otlp-ingest.ts [--quick] [--exports 40] [--traces 25]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { decodeJson } from '../src/doors/otlp/json.ts';
import { defaultDecodeLimits } from '../src/doors/otlp/spans.ts';
import { parseClientJson } from '../src/text/client-json.ts';
import { startServer } from '../test/helpers/server.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    exports: { type: 'string', default: '40' },
    traces: { type: 'string', default: '25' },
  },
});
const exportsN = values.quick ? 10 : Number(values.exports);
const tracesPer = Number(values.traces);
const SPANS_PER_TRACE = 4;

const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
const int = (key: string, v: number) => ({ key, value: { intValue: String(v) } });

function body(): string {
  const now = BigInt(Date.now()) * 1_000_000n;
  const spans = [];
  for (let t = 0; t < tracesPer; t++) {
    const traceId = randomBytes(16).toString('hex');
    const rootId = randomBytes(8).toString('hex');
    const span = (name: string, parent: string, attributes: unknown[], at: number) => ({
      traceId,
      spanId: parent ? randomBytes(8).toString('hex') : rootId,
      parentSpanId: parent,
      name,
      kind: 1,
      startTimeUnixNano: String(now + BigInt(at) * 1_000_000n),
      endTimeUnixNano: String(now + BigInt(at + 3) * 1_000_000n),
      attributes,
      status: {},
    });
    spans.push(
      span(
        'chat',
        rootId,
        [
          str('gen_ai.operation.name', 'chat'),
          str('gen_ai.request.model', 'gpt-4o-mini'),
          int('gen_ai.usage.input_tokens', 120),
          int('gen_ai.usage.output_tokens', 30),
          str('gen_ai.input.messages', JSON.stringify([{ role: 'user', content: `question ${t}` }])),
        ],
        1,
      ),
      span(
        'execute_tool a',
        rootId,
        [str('gen_ai.operation.name', 'execute_tool'), str('gen_ai.tool.name', 'a')],
        5,
      ),
      span(
        'execute_tool b',
        rootId,
        [str('gen_ai.operation.name', 'execute_tool'), str('gen_ai.tool.name', 'b')],
        6,
      ),
      span(
        'invoke_agent',
        '',
        [str('gen_ai.operation.name', 'invoke_agent'), str('input.value', `question ${t}`)],
        0,
      ),
    );
  }
  return JSON.stringify({
    resourceSpans: [{ resource: { attributes: [str('service.name', 'bench')] }, scopeSpans: [{ spans }] }],
  });
}

const s = await startServer('pglite');
try {
  const bodies = Array.from({ length: exportsN }, body);
  const spans = exportsN * tracesPer * SPANS_PER_TRACE;
  // Warm-up: the route, the statements, the JIT.
  for (const b of [body(), body()]) await post(b);

  let t0 = performance.now();
  for (const b of bodies) await post(b);
  const httpMs = performance.now() - t0;

  t0 = performance.now();
  let decoded = 0;
  for (let round = 0; round < 5; round++)
    for (const b of bodies) decoded += decodeJson(parseClientJson(b, 64), defaultDecodeLimits).length;
  const decodeMs = (performance.now() - t0) / 5;
  if (decoded !== spans * 5) throw new Error(`decoded ${decoded} spans, expected ${spans * 5}`);

  const ingestRate = Math.round(spans / (httpMs / 1000));
  const decodeRate = Math.round(spans / (decodeMs / 1000));
  console.log(`spans per export: ${tracesPer * SPANS_PER_TRACE}, exports: ${exportsN}, spans: ${spans}`);
  console.log(`ingest through HTTP (PGlite): ${ingestRate} spans/s`);
  console.log(`decoding alone (floor):       ${decodeRate} spans/s`);
  console.log(`floor / ingest:               ${(decodeRate / ingestRate).toFixed(1)}×`);
  console.log(
    JSON.stringify({
      bench: 'otlp-ingest',
      ingest_spans_per_s: ingestRate,
      decode_spans_per_s: decodeRate,
      decode_vs_ingest: Number((decodeRate / ingestRate).toFixed(2)),
    }),
  );
} finally {
  await s.close();
}

async function post(b: string) {
  const res = await fetch(`${s.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${s.adminKey}` },
    body: b,
  });
  if (res.status !== 200) throw new Error(`POST /v1/traces: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}
