import secureJson from 'secure-json-parse';
import { AppError } from '../errors.ts';
import { findUnstorableText, jsonTooDeep } from './json-limits.ts';

/**
 * JSON text a client sent, parsed under the rules of every JSON body (docs/security.md, "Client
 * JSON and text"): nesting no deeper than `maxDepth` (counted before parsing), no
 * `__proto__` / `constructor.prototype` keys, no NUL or lone surrogate in any string or key.
 * The body parser uses it for whole bodies; a route that receives JSON inside another format (a
 * multipart field) uses it for that field, so both answer the same 400s. `where` names the text in
 * messages: `JSON body`, `field metadata`.
 */
export function parseClientJson(text: string, maxDepth: number, where = 'JSON body'): unknown {
  const at = where === 'JSON body' ? 'body' : where;
  if (jsonTooDeep(text, maxDepth) !== undefined) {
    throw new AppError(
      'bad_request',
      `${where} nested deeper than ${maxDepth} levels (server.json_max_depth)`,
      {
        details: [{ in: at, limit: 'json_max_depth', max: maxDepth }],
      },
    );
  }
  let value: unknown;
  try {
    // `__proto__` and `constructor.prototype` keys are refused: merged into an object later,
    // they would change its prototype.
    value = secureJson.parse(text, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    const reason = (err as Error).message.replace(/\s+/g, ' ').slice(0, 200);
    throw new AppError('bad_request', `malformed ${where}: ${reason}`);
  }
  const bad = findUnstorableText(value);
  if (bad) {
    throw new AppError(
      'bad_request',
      `${at === 'body' ? '' : `${where}: `}${bad} holds a NUL character or a lone surrogate, which text may not contain`,
      {
        details: [{ in: at, path: bad, message: 'NUL (\\u0000) and unpaired surrogates are not accepted' }],
      },
    );
  }
  return value;
}
