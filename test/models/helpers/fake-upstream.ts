import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer of the fake upstream. */
export type Scripted =
  | { status: number; body: unknown; headers?: Record<string, string>; delayMs?: number }
  /**
   * A Server-Sent Events answer: each entry is one `data:` payload (objects are JSON-encoded), or a
   * comment written as it is (a string starting with `:`).
   */
  | { sse: Array<unknown>; delayMs?: number; gapMs?: number; resetAfter?: number; eventNames?: boolean }
  /** A 200 whose body is these byte pieces, each written `gapMs` after the last (separate reads). */
  | { pieces: Buffer[]; contentType: string; gapMs: number }
  /** Accepts the request and never answers (until the client gives up). */
  | { hang: true }
  /** Destroys the socket without answering. */
  | { reset: true };

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  // biome-ignore lint/suspicious/noExplicitAny: the fake reads arbitrary JSON bodies
  body: any;
  /** Resolves when the client closed the connection before the answer was complete. */
  aborted: Promise<void>;
}

/**
 * A fake LLM upstream: a real HTTP server on loopback that answers from a script, in order (the last
 * entry repeats when the script runs out), and records every request it saw.
 */
export class FakeUpstream {
  readonly seen: SeenRequest[] = [];
  private script: Scripted[] = [];
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Replaces the script. */
  answer(...entries: Scripted[]): void {
    this.script = entries;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    let onAbort = () => {};
    const aborted = new Promise<void>((resolve) => {
      onAbort = resolve;
    });
    res.on('close', () => {
      if (!res.writableFinished) onAbort();
    });
    this.seen.push({
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body: raw ? JSON.parse(raw) : undefined,
      aborted,
    });
    const entry = this.script.length > 1 ? this.script.shift()! : this.script[0];
    if (!entry) {
      res.writeHead(500).end('{"error":{"message":"no script"}}');
      return;
    }
    if ('reset' in entry) {
      req.socket.destroy();
      return;
    }
    if ('hang' in entry) return;
    if ('delayMs' in entry && entry.delayMs) await sleep(entry.delayMs);
    if ('pieces' in entry) {
      res.writeHead(200, { 'content-type': entry.contentType });
      for (const [i, piece] of entry.pieces.entries()) {
        if (i > 0) await sleep(entry.gapMs);
        // The client went away: stop, as a server does (and as `sse` answers do).
        if (res.destroyed) return;
        res.write(piece);
      }
      res.end();
      return;
    }
    if ('status' in entry) {
      res.writeHead(entry.status, { 'content-type': 'application/json', ...entry.headers });
      res.end(JSON.stringify(entry.body));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const [i, item] of entry.sse.entries()) {
      if (entry.gapMs && i > 0) await sleep(entry.gapMs);
      if (entry.resetAfter !== undefined && i === entry.resetAfter) {
        req.socket.destroy();
        return;
      }
      if (res.destroyed) return;
      // A comment line (`: keep-alive`), as some vendors send between events, goes out as it is.
      if (typeof item === 'string' && item.startsWith(':')) {
        res.write(item);
        continue;
      }
      const data = typeof item === 'string' ? item : JSON.stringify(item);
      const event =
        entry.eventNames && typeof item === 'object' ? `event: ${(item as { type: string }).type}\n` : '';
      res.write(`${event}data: ${data}\n\n`);
    }
    res.end();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** OpenAI-shaped helpers for scripting. */
export const openai = {
  completion(content: string | null, extra: Record<string, unknown> = {}) {
    return {
      id: 'chatcmpl-up-1',
      object: 'chat.completion',
      created: 1,
      model: 'up-model',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content, ...extra },
          finish_reason: extra.tool_calls ? 'tool_calls' : 'stop',
        },
      ],
      usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
    };
  },
  chunk(delta: Record<string, unknown>, finish: string | null = null) {
    return {
      id: 'chatcmpl-up-2',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'up-model',
      choices: [{ index: 0, delta, finish_reason: finish }],
    };
  },
  usageChunk(prompt: number, completion: number) {
    return {
      id: 'chatcmpl-up-2',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'up-model',
      choices: [],
      usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
    };
  },
};
