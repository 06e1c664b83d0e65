import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { AppError } from '../../errors.ts';
import { JsonlReader, type Parsed, parseCsv } from '../../eval/datasets/parse.ts';

/**
 * The body of a dataset import, read from its stream under the route's own limit (larger than the
 * API's JSON limit: imports run to tens of MB). JSONL is checked line by line as the bytes arrive,
 * so only the items read are held, never the whole text; CSV, whose quoted fields may span lines,
 * is parsed once it has all arrived. Past `maxBytes` the import is a 413 at once, and what is left of
 * the body flows on unread, as Fastify's own limit does.
 */
export function readImport(
  body: Readable,
  format: 'jsonl' | 'csv',
  maxBytes: number,
  declaredBytes?: number,
): Promise<Parsed> {
  const tooLarge = () =>
    new AppError(
      'payload_too_large',
      `import body is larger than the limit of ${maxBytes} bytes; split the file into several imports`,
    );
  if (declaredBytes !== undefined && declaredBytes > maxBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const jsonl = format === 'jsonl' ? new JsonlReader() : null;
    const csv: string[] = [];
    const decoder = new StringDecoder('utf8');
    let bytes = 0;
    const take = (text: string) => {
      if (jsonl) jsonl.push(text);
      else csv.push(text);
    };
    const finish = (err: unknown, parsed?: Parsed) => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', finish);
      if (err) reject(err);
      else resolve(parsed!);
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes) return finish(tooLarge());
      take(decoder.write(chunk));
    };
    const onEnd = () => {
      take(decoder.end());
      finish(undefined, jsonl ? jsonl.end() : parseCsv(csv.join('')));
    };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', finish);
  });
}
