import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import type { ConfigInput } from '../../src/config/config.ts';
import { tsLoaderArgs } from '../helpers/server.ts';
import { FakeUpstream, openai as oa } from '../models/helpers/fake-upstream.ts';

const fixture = path.join(import.meta.dirname, 'fixtures', 'durable-process.ts');

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  key: string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

const started = new Set<ServerProcess>();

/**
 * Starts a server process (`serve`, with the backend's tools) and waits for its ready line. Its
 * stdin is a pipe from this process: the fixture exits when it closes, so a test that fails before
 * it kills what it started leaves no server behind to keep the test file running.
 */
export async function spawnServer(config: ConfigInput, backend: string): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...tsLoaderArgs, fixture], {
    env: { ...process.env, AGENTRY_TEST_CONFIG: JSON.stringify(config), TOOL_BACKEND: backend },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const p = { child, url: '', key: '', exited };
  started.add(p);
  exited.then(() => started.delete(p));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const m = /ready (\S+) (\S+)\n/.exec(out);
      if (m) resolve(Object.assign(p, { url: m[1]!, key: m[2]! }));
    });
    exited.then((code) => reject(new Error(`server process exited early (${code})`)));
  });
}

export async function kill(p: ServerProcess | undefined, signal: NodeJS.Signals = 'SIGKILL') {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  await p.exited;
}

/** Kills every server process still running (a test's `after`, whatever the tests left). */
export async function killAll(): Promise<void> {
  await Promise.all([...started].map((p) => kill(p)));
}

/**
 * The tools' far side: `/<tool>/<key>` answers `<tool> <key> done`, or, while the tool is held, is
 * kept waiting (a tool call in flight). Counts the calls per tool.
 */
export class ToolBackend {
  readonly calls = new Map<string, number>();
  private readonly held = new Set<string>();
  private waiting: Array<{ res: ServerResponse; body: string }> = [];
  private readonly server = createServer((req, res) => {
    const [, tool = '', key = ''] = (req.url ?? '').split('/');
    this.calls.set(tool, (this.calls.get(tool) ?? 0) + 1);
    const body = `${tool} ${key} done`;
    if (this.held.has(tool)) this.waiting.push({ res, body });
    else res.end(body);
  });
  url = '';

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  hold(tool: string): void {
    this.held.add(tool);
  }

  /** Answers from now on, and answers the calls that wait. */
  release(tool: string): void {
    this.held.delete(tool);
    for (const w of this.waiting) if (!w.res.destroyed) w.res.end(w.body);
    this.waiting = [];
  }

  count(tool: string): number {
    return this.calls.get(tool) ?? 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A streamed model answer asking for tool calls. */
export function askTools(...calls: Array<{ id: string; name: string; args: Record<string, unknown> }>) {
  return {
    sse: [
      oa.chunk({ role: 'assistant', content: null }),
      ...calls.map((c, index) =>
        oa.chunk({
          tool_calls: [
            {
              index,
              id: c.id,
              type: 'function',
              function: { name: c.name, arguments: JSON.stringify(c.args) },
            },
          ],
        }),
      ),
      oa.chunk({}, 'tool_calls'),
      oa.usageChunk(10, 5),
      '[DONE]',
    ],
  };
}

/** A streamed final answer. */
export function say(text: string, delayMs?: number) {
  return {
    sse: [
      oa.chunk({ role: 'assistant', content: text }),
      oa.chunk({}, 'stop'),
      oa.usageChunk(10, 5),
      '[DONE]',
    ],
    ...(delayMs && { delayMs }),
  };
}

/**
 * What a file of process-killing tests shares: a fake model upstream, a tool backend and a temp
 * directory, started before its tests; after them every spawned server is killed and all is removed.
 */
export function durableSuite(prefix: string) {
  const upstream = new FakeUpstream();
  const backend = new ToolBackend();
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  before(async () => {
    await upstream.start();
    await backend.start();
  });
  after(async () => {
    await killAll();
    await upstream.close();
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { upstream, backend, dir };
}
