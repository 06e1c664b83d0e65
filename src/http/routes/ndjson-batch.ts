import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { AppError } from '../../errors.ts';
import { parseClientJson } from '../../text/client-json.ts';
import { LineSplitter } from '../../text/line-splitter.ts';

/**
 * NDJSON batches (`application/x-ndjson`, one document per line), read as the bytes arrive: each
 * line is parsed when it is complete, and the batch's bounds are applied on the way, so a body of
 * 100,000 lines is refused (413) at the first line past the bound, before that line is parsed,
 * without parsing the rest or holding the whole text.
 */

/** A line that broke the rules of a JSON body: that item's error alone, the others go on. */
export class BadLine {
  constructor(readonly error: AppError) {}
}

export interface NdjsonLimits {
  /** Documents (non-blank lines) in one batch; one more is a 413. */
  maxItems: number;
  /** JSON nesting depth of one line (`server.json_max_depth`). */
  maxDepth: number;
}

export const tooManyDocuments = (max: number, count?: number) =>
  new AppError(
    'payload_too_large',
    `${count ?? `more than ${max}`} documents in one batch; send at most ${max} per request`,
  );

/**
 * Splits text pushed piece by piece into lines and parses each complete, non-blank one with the
 * rules of a JSON body (`parseClientJson`, naming the line). `parseLine` is the parser (a test
 * counts its calls).
 */
export class NdjsonReader {
  readonly items: unknown[] = [];
  private readonly lines = new LineSplitter((text) => this.line(text));

  constructor(
    private readonly limits: NdjsonLimits,
    private readonly parseLine: typeof parseClientJson = parseClientJson,
  ) {}

  /** Takes the next piece of text; throws 413 at the first document past `maxItems`. */
  push(text: string): void {
    this.lines.push(text);
  }

  /** The text has ended: its last line (if it had no newline) and the documents read. */
  end(): unknown[] {
    this.lines.end();
    return this.items;
  }

  private line(text: string): void {
    if (text.trim() === '') return;
    if (this.items.length >= this.limits.maxItems) throw tooManyDocuments(this.limits.maxItems);
    try {
      this.items.push(this.parseLine(text, this.limits.maxDepth, `line ${this.items.length + 1}`));
    } catch (err) {
      this.items.push(new BadLine(err as AppError));
    }
  }
}

/**
 * Reads an NDJSON body from its stream: 413 as soon as it holds more than `maxItems` documents or
 * `maxBytes` bytes. What is left of a refused body is not read into anything: the stream flows on
 * with no reader, so the 413 goes back on the same connection, as Fastify's own body limit does.
 */
export function readNdjson(
  body: Readable,
  limits: NdjsonLimits & { maxBytes: number },
  declaredBytes?: number,
): Promise<unknown[]> {
  const tooLarge = () =>
    new AppError('payload_too_large', `request body is larger than the limit of ${limits.maxBytes} bytes`);
  if (declaredBytes !== undefined && declaredBytes > limits.maxBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const reader = new NdjsonReader(limits);
    const decoder = new StringDecoder('utf8');
    let bytes = 0;
    const finish = (err: unknown, items?: unknown[]) => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', finish);
      if (err) reject(err);
      else resolve(items!);
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      try {
        if (bytes > limits.maxBytes) throw tooLarge();
        reader.push(decoder.write(chunk));
      } catch (err) {
        finish(err);
      }
    };
    const onEnd = () => {
      try {
        reader.push(decoder.end());
        finish(undefined, reader.end());
      } catch (err) {
        finish(err);
      }
    };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', finish);
  });
}
