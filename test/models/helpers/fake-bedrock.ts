import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventStreamCodec } from '@smithy/core/event-streams';

/** One event of a ConverseStream answer: `{ messageStart: {...} }`, or an exception in the stream. */
export type StreamEvent = Record<string, unknown> | { exception: string; message: string };

/** One scripted answer, as Bedrock's runtime endpoint sends it (restJson1; event stream for streams). */
export type BedrockScripted =
  /** A 200 Converse answer. */
  | { json: unknown }
  /** A 200 `application/vnd.amazon.eventstream` answer: one binary message per event. */
  | { events: StreamEvent[]; gapMs?: number }
  /** An error answer: its status, its `x-amzn-errortype`, its `{"message"}` body. */
  | { status: number; errorType: string; message: string; headers?: Record<string, string> }
  /** Accepts the request and never answers (until the client gives up). */
  | { hang: true };

export interface SeenBedrockRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  // biome-ignore lint/suspicious/noExplicitAny: the fake reads arbitrary JSON bodies
  body: any;
  /** The body's SHA-256 (hex), which SigV4 signs. */
  bodySha256: string;
  /** Resolves when the client closed the connection before the answer was complete. */
  aborted: Promise<void>;
}

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => Buffer.from(text, 'utf8'),
);

/** One event as Bedrock frames it: prelude, headers, JSON payload, CRCs (the codec computes them). */
export function eventMessage(event: StreamEvent): Uint8Array {
  const string = (value: string) => ({ type: 'string' as const, value });
  if ('exception' in event && typeof event.exception === 'string') {
    return codec.encode({
      headers: {
        ':message-type': string('exception'),
        ':exception-type': string(event.exception),
        ':content-type': string('application/json'),
      },
      body: Buffer.from(JSON.stringify({ message: event.message })),
    });
  }
  const [type, payload] = Object.entries(event)[0]!;
  return codec.encode({
    headers: {
      ':event-type': string(type),
      ':content-type': string('application/json'),
      ':message-type': string('event'),
    },
    // Bedrock pads every event with a `p` field of varying length (so sizes do not leak content).
    body: Buffer.from(JSON.stringify({ ...(payload as object), p: 'abcdefghij' })),
  });
}

/**
 * A fake Bedrock runtime endpoint: a real HTTP server on loopback that answers from a script, in
 * order (the last entry repeats when the script runs out), and records every request it saw.
 */
export class FakeBedrock {
  readonly seen: SeenBedrockRequest[] = [];
  /**
   * Secret keys by access key id: a request signed with one of them is checked as Bedrock checks
   * it, and answered 403 InvalidSignatureException when its signature does not match.
   */
  readonly secrets = new Map<string, string>();
  private script: BedrockScripted[] = [];
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  answer(...entries: BedrockScripted[]): void {
    this.script = entries;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private signatureProblem(req: IncomingMessage, body: Buffer): string | undefined {
    return sigV4Problem(req, body, this.secrets);
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
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
      body: raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined,
      bodySha256: createHash('sha256').update(raw).digest('hex'),
      aborted,
    });
    const badSignature = this.signatureProblem(req, raw);
    if (badSignature) {
      res.writeHead(403, {
        'content-type': 'application/json',
        'x-amzn-errortype': 'InvalidSignatureException',
      });
      res.end(JSON.stringify({ message: badSignature }));
      return;
    }
    const entry = this.script.length > 1 ? this.script.shift()! : this.script[0];
    const requestId = '7c1a2b3d-0000-4000-8000-00000000beef';
    if (!entry) {
      res.writeHead(500, { 'x-amzn-errortype': 'InternalServerException' }).end('{"message":"no script"}');
      return;
    }
    if ('hang' in entry) return;
    // A script written for the other operation is the test's mistake: say so rather than answer.
    const streaming = /\/converse-stream$/.test(req.url ?? '');
    if (('json' in entry && streaming) || ('events' in entry && !streaming)) {
      res.writeHead(500, { 'x-amzn-errortype': 'InternalServerException' });
      res.end(JSON.stringify({ message: `fake: the script's answer does not fit ${req.url}` }));
      return;
    }
    if ('errorType' in entry) {
      res.writeHead(entry.status, {
        'content-type': 'application/json',
        'x-amzn-requestid': requestId,
        // As Bedrock sends it: the exception's name, then its namespace after a colon.
        'x-amzn-errortype': `${entry.errorType}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
        ...entry.headers,
      });
      res.end(JSON.stringify({ message: entry.message }));
      return;
    }
    if ('json' in entry) {
      res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': requestId });
      res.end(JSON.stringify(entry.json));
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/vnd.amazon.eventstream',
      'x-amzn-requestid': requestId,
      'transfer-encoding': 'chunked',
    });
    for (const [i, event] of entry.events.entries()) {
      if (entry.gapMs && i > 0) await new Promise((r) => setTimeout(r, entry.gapMs));
      if (res.destroyed) return;
      res.write(eventMessage(event));
    }
    res.end();
  }
}

/**
 * SigV4 recomputed from the request as it arrived (AWS's "Create a signed AWS API request"): the
 * canonical request (path segments encoded a second time, as for every service but S3; the signed
 * headers' trimmed values; the payload's hash), the string to sign, the key derived from the
 * secret by date, region and service. Why the signature does not match, or undefined when it does.
 */
function sigV4Problem(req: IncomingMessage, body: Buffer, secrets: Map<string, string>): string | undefined {
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      String(req.headers.authorization ?? ''),
    );
  if (!m) return 'no AWS4-HMAC-SHA256 authorization header';
  const [, keyId, date, region, service, signedHeaders, signature] = m as unknown as string[];
  const secret = secrets.get(keyId!);
  if (!secret) return undefined;
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const payloadHash = createHash('sha256').update(body).digest('hex');
  if (req.headers['x-amz-content-sha256'] && req.headers['x-amz-content-sha256'] !== payloadHash) {
    return 'x-amz-content-sha256 is not the hash of the body';
  }
  const [path, query = ''] = (req.url ?? '/').split('?');
  const canonicalPath = encodeURIComponent(path!).replace(/%2F/g, '/');
  const headerLines = signedHeaders!
    .split(';')
    .map(
      (name) =>
        `${name}:${String(req.headers[name] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const canonical = [req.method, canonicalPath, query, headerLines, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonical).digest('hex'),
  ].join('\n');
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), service!), 'aws4_request');
  const expected = createHmac('sha256', key).update(toSign).digest('hex');
  return expected === signature
    ? undefined
    : 'The request signature we calculated does not match the signature you provided.';
}

/** Bedrock-shaped answers for scripting, as the Converse API returns them for Claude. */
export const converse = {
  answer(content: unknown[], stopReason: string, usage = { inputTokens: 25, outputTokens: 9 }) {
    return {
      output: { message: { role: 'assistant', content } },
      stopReason,
      usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens },
      metrics: { latencyMs: 420 },
    };
  },
  /** A streamed answer's closing events: messageStop, then metadata with the usage. */
  end(stopReason: string, usage = { inputTokens: 25, outputTokens: 9 }): StreamEvent[] {
    return [
      { messageStop: { stopReason } },
      {
        metadata: {
          usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens },
          metrics: { latencyMs: 380 },
        },
      },
    ];
  },
};
