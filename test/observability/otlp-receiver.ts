import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import { memoryStore } from '../helpers/pglite-snapshot.ts';
import { tsLoaderArgs } from '../helpers/server.ts';
import { FakeUpstream } from '../models/helpers/fake-upstream.ts';

/** A span as an OTLP/HTTP JSON export carries it, with its resource's attributes flattened. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  status: { code?: number; message?: string };
  resource: Record<string, unknown>;
}

type OtlpValue = {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
  arrayValue?: { values: OtlpValue[] };
};
type OtlpAttr = { key: string; value: OtlpValue };

const otlpValue = (v: OtlpValue): unknown =>
  v.stringValue ??
  (v.intValue !== undefined ? Number(v.intValue) : undefined) ??
  v.boolValue ??
  v.doubleValue ??
  v.arrayValue?.values.map(otlpValue);
const attrs = (list: OtlpAttr[] = []) => Object.fromEntries(list.map((a) => [a.key, otlpValue(a.value)]));

/** A real OTLP/HTTP receiver on loopback (JSON protocol): collects every span exported to it. */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly contentTypes = new Set<string>();
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      this.contentTypes.add(String(req.headers['content-type']));
      if (req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      const body = JSON.parse(raw) as {
        resourceSpans: Array<{
          resource: { attributes: OtlpAttr[] };
          scopeSpans: Array<{ spans: Array<Record<string, unknown>> }>;
        }>;
      };
      for (const rs of body.resourceSpans) {
        const resource = attrs(rs.resource.attributes);
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            this.spans.push({
              traceId: String(s.traceId),
              spanId: String(s.spanId),
              parentSpanId: String(s.parentSpanId ?? ''),
              name: String(s.name),
              kind: Number(s.kind),
              attributes: attrs(s.attributes as OtlpAttr[]),
              status: (s.status ?? {}) as ReceivedSpan['status'],
              resource,
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  named(name: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.name === name);
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

const fixture = new URL('./fixtures/traced-app.ts', import.meta.url).pathname;

/** Starts Agentry in its own process, exporting its spans to `receiver` over OTLP/HTTP JSON. */
export async function startTracedApp(
  receiver: OtlpReceiver,
  config: Record<string, unknown>,
  resource: string,
  /** More variables for the process (OTEL_TRACES_SAMPLER, …). */
  env: Record<string, string> = {},
): Promise<{ url: string; adminKey: string; proc: ChildProcess; stop: () => Promise<void> }> {
  const proc = spawn(process.execPath, [...tsLoaderArgs, fixture], {
    env: {
      ...process.env,
      AGENTRY_TEST_CONFIG: JSON.stringify(config),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'agentry-test',
      OTEL_RESOURCE_ATTRIBUTES: resource,
      OTEL_BSP_SCHEDULE_DELAY: '50',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const ready = new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('ready '));
      if (line) resolve(line);
    });
    proc.on('exit', (code) =>
      reject(new Error(`the traced app exited (${code}) before it was ready: ${out}`)),
    );
  });
  const [, url, adminKey] = (await ready).split(' ');
  return {
    url: url!,
    adminKey: adminKey!,
    proc,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      await once(proc, 'exit');
    },
  };
}

/**
 * What a file of export tests shares: a receiver, a fake OpenAI upstream, and an API process on
 * the embedded store that exports to the one and calls the other; started before the suite's tests,
 * stopped after them. `app` is set once the process is ready.
 */
export function tracedUpstreamSuite() {
  const suite = {
    receiver: new OtlpReceiver(),
    upstream: new FakeUpstream(),
    app: undefined as unknown as Awaited<ReturnType<typeof startTracedApp>>,
  };
  before(async () => {
    await suite.receiver.start();
    await suite.upstream.start();
    suite.app = await startTracedApp(
      suite.receiver,
      {
        store: memoryStore(),
        ops_team: { seed: false },
        sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 0 } } },
        models: { providers: { up: { type: 'openai', base_url: `${suite.upstream.url}/v1` } } },
      },
      'agentry.role=api',
    );
  });
  after(async () => {
    await suite.app?.stop();
    await suite.upstream.close();
    await suite.receiver.close();
  });
  return suite;
}
