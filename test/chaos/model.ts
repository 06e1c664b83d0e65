import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openai } from '../models/helpers/fake-upstream.ts';

/**
 * The followed runs' model: an OpenAI-compatible server on loopback run by the harness, so it counts
 * every model request a run's processes send, whichever process sent it and whether it died before
 * the answer arrived. A run's messages carry a tag (`[run 7]`): a question with no tool result yet
 * is answered with a calculator call, one after the result with the final answer; each answer comes
 * after `delayMs` (streamed in two parts when asked), so calls are in flight when a process dies.
 */
export class ChaosModel {
  /** Requests per run tag. */
  readonly requests = new Map<string, number>();
  url = '';
  private server?: Server;

  constructor(private readonly delayMs: number) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.answer(req, res).catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  count(tag: string): number {
    return this.requests.get(tag) ?? 0;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async answer(req: IncomingMessage, res: ServerResponse) {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const body = JSON.parse(raw || '{}') as {
      stream?: boolean;
      messages?: Array<{ role: string; content?: unknown }>;
    };
    const messages = body.messages ?? [];
    const first = messages.find((m) => m.role === 'user');
    const tag = /\[(run [^\]]+)\]/.exec(String(first?.content ?? ''))?.[1] ?? 'untagged';
    this.requests.set(tag, this.count(tag) + 1);
    const call = {
      id: `call_${tag.replace(/\W/g, '_')}`,
      type: 'function',
      function: { name: 'calculator', arguments: '{"expression":"(2 + 3) * 4"}' },
    };
    const done = messages.at(-1)?.role === 'tool';
    await sleep(this.delayMs);
    if (!body.stream) {
      const answer = done
        ? openai.completion('(2 + 3) * 4 is 20.')
        : openai.completion(null, { tool_calls: [call] });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
    if (done) {
      send(openai.chunk({ role: 'assistant', content: '(2 + 3) * 4 ' }));
      await sleep(this.delayMs / 5);
      send(openai.chunk({ content: 'is 20.' }, 'stop'));
    } else {
      send(openai.chunk({ role: 'assistant', tool_calls: [{ index: 0, ...call }] }));
      await sleep(this.delayMs / 5);
      send(openai.chunk({}, 'tool_calls'));
    }
    send(openai.usageChunk(11, 7));
    res.end('data: [DONE]\n\n');
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
