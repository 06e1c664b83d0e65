import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { type App, createApp } from '../../src/app.ts';
import { type ConfigInput, testConfig } from '../../src/config/config.ts';
import { AppError } from '../../src/errors.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { freshDatabase, type StoreKind, type TestServer, tsLoaderArgs } from '../helpers/server.ts';

export interface SseEvent {
  id: string;
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON events
  data: any;
}

export interface SseRead {
  status: number;
  events: SseEvent[];
  /** `data: [DONE]` was received. */
  done: boolean;
  /** The error answer, when the server did not open a stream. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  error?: any;
}

/**
 * Opens an SSE request and reads it until the stream ends, `[DONE]` arrives, or `stop(event)`
 * returns true (then the connection is dropped, like a client going away).
 */
export async function sse(
  url: string,
  o: {
    method?: string;
    body?: unknown;
    key: string;
    headers?: Record<string, string>;
    stop?: (e: SseEvent) => boolean;
  },
): Promise<SseRead> {
  const controller = new AbortController();
  const res = await fetch(url, {
    method: o.method ?? (o.body === undefined ? 'GET' : 'POST'),
    headers: {
      authorization: `Bearer ${o.key}`,
      ...(o.body !== undefined && { 'content-type': 'application/json' }),
      ...o.headers,
    },
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
    signal: controller.signal,
  });
  const out: SseRead = { status: res.status, events: [], done: false };
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) {
    const text = await res.text();
    try {
      out.error = JSON.parse(text);
    } catch {
      out.error = text;
    }
    return out;
  }
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return out;
      buffer += decoder.decode(value, { stream: true });
      let cut = buffer.indexOf('\n\n');
      while (cut >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        cut = buffer.indexOf('\n\n');
        const fields = sseFields(frame);
        if (fields.data === undefined) continue;
        if (fields.data === '[DONE]') {
          out.done = true;
          continue;
        }
        const e = { id: fields.id ?? '', event: fields.event ?? '', data: JSON.parse(fields.data) };
        out.events.push(e);
        if (o.stop?.(e)) {
          controller.abort();
          return out;
        }
      }
    }
  } catch (err) {
    if (controller.signal.aborted) return out;
    throw err;
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** The fields of one SSE frame (the text between two blank lines); comment lines are skipped. */
export function sseFields(frame: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of frame.split('\n')) {
    if (line.startsWith(':')) continue;
    const i = line.indexOf(': ');
    if (i > 0) fields[line.slice(0, i)] = (fields[line.slice(0, i)] ?? '') + line.slice(i + 2);
  }
  return fields;
}

export async function createAgent(
  s: TestServer,
  body: Record<string, unknown>,
): Promise<{ id: string; name: string }> {
  const res = await s.request('POST', '/v1/agents', { body });
  if (res.status !== 201) throw new Error(`agent: ${res.status} ${res.text}`);
  return res.body;
}

import { eventually } from '../helpers/eventually.ts';
import { memoryStore } from '../helpers/pglite-snapshot.ts';

export { eventually };

/** Boots the real server on an existing store (a restart): the caller keeps the admin key it had. */
export async function bootOn(config: ConfigInput): Promise<{ app: App; url: string }> {
  // No backpressure 503s on a loaded test machine (as startServer).
  const app = await createApp(
    testConfig({ log_level: 'silent', ...config, server: { max_event_loop_delay_ms: 0, ...config.server } }),
    {
      log: createLogger(process.env.AGENTRY_TEST_LOG ?? 'silent'),
    },
  );
  const url = await app.http.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

/** A request against a server booted with `bootOn`. */
export async function call(
  url: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/**
 * A store that outlives one server, for suites that restart or kill it: a fresh PostgreSQL database,
 * or an embedded one in `dir` (not `memory://`, which would die with the process).
 */
export async function persistentStore(
  store: StoreKind,
  dir: string,
): Promise<{ config: ConfigInput['store']; drop: () => Promise<void> }> {
  if (store === 'postgres') {
    const db = await freshDatabase();
    return { config: { database_url: db.url, pool_max: 5 }, drop: db.drop };
  }
  return { config: { ...memoryStore(), data_dir: path.join(dir, 'data') }, drop: async () => {} };
}

/** Starts a server process (fixtures/server-process.ts) and waits for its "ready <url> <key>" line. */
export async function spawnServerProcess(
  config: ConfigInput,
): Promise<{ child: ChildProcess; url: string; key: string }> {
  const fixture = path.join(import.meta.dirname, 'fixtures', 'server-process.ts');
  const child = spawn(process.execPath, [...tsLoaderArgs, fixture], {
    env: { ...process.env, AGENTRY_TEST_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const m = /ready (\S+) (\S+)\n/.exec(out);
      if (m) resolve({ child, url: m[1]!, key: m[2]! });
    });
    child.on('exit', (code) => reject(new Error(`server process exited early (${code})`)));
  });
}

/**
 * The next read of the agents service fails, as a store outage answers it; the ones after work.
 * `happened()` tells whether that read has been made.
 */
export function failNextAgentRead(app: App): { happened: () => boolean } {
  const agents = app.services.agents;
  const read = agents.get.bind(agents);
  agents.get = async () => {
    agents.get = read;
    throw new AppError('unavailable', 'the store is unavailable');
  };
  return { happened: () => agents.get === read };
}
