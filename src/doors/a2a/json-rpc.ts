import { AppError } from '../../errors.ts';
import { parseClientJson } from '../../text/client-json.ts';

/**
 * The JSON-RPC 2.0 envelope of an A2A request, checked before the SDK's transport sees it, so a
 * client's mistake gets the code JSON-RPC gives it (§5.1): text that is not JSON is -32700 (Parse
 * error), an object that is not a request (`jsonrpc` other than "2.0", no `method`, an `id` that is
 * neither string, number nor null) is -32600 (Invalid Request). Both come with HTTP 200, as every
 * JSON-RPC answer of this endpoint does.
 */

export type RpcId = string | number | null;

export interface RpcError {
  jsonrpc: '2.0';
  id: RpcId;
  error: { code: number; message: string };
}

export const rpcError = (id: RpcId, code: number, message: string): RpcError => ({
  jsonrpc: '2.0',
  id,
  error: { code, message },
});

/** A body the parser could not read: carried to the handler, which answers -32700. */
export class UnparsedBody {
  constructor(readonly reason: string) {}
}

/** The route's JSON parser: the edge's rules (depth, NUL, prototype keys), failures kept for -32700. */
export function parseRpcBody(text: string, maxDepth: number): unknown {
  if (!text.trim()) return new UnparsedBody('the body is empty');
  try {
    return parseClientJson(text, maxDepth);
  } catch (err) {
    return new UnparsedBody(err instanceof AppError ? err.message : 'not JSON');
  }
}

const isId = (v: unknown): v is RpcId => v === null || typeof v === 'string' || typeof v === 'number';

/** The request's id when it has a usable one (errors echo it), else null. */
export function idOf(body: unknown): RpcId {
  const id = (body as { id?: unknown } | null)?.id;
  return isId(id) ? id : null;
}

/** The JSON-RPC error for a body that is not a request, or undefined when it is one. */
export function envelopeError(body: unknown): RpcError | undefined {
  if (body instanceof UnparsedBody) return rpcError(null, -32700, `Parse error: ${body.reason}`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return rpcError(null, -32600, 'Invalid Request: the body must be one JSON-RPC request object');
  }
  const r = body as Record<string, unknown>;
  if ('id' in r && !isId(r.id)) {
    return rpcError(null, -32600, 'Invalid Request: id must be a string, a number or null');
  }
  if (r.jsonrpc !== '2.0') return rpcError(idOf(r), -32600, 'Invalid Request: jsonrpc must be "2.0"');
  if (typeof r.method !== 'string' || !r.method) {
    return rpcError(idOf(r), -32600, 'Invalid Request: method must be a non-empty string');
  }
  return undefined;
}

/**
 * The A2A version a request speaks: its `A2A-Version` header; without one, 1.0 for a method with
 * a 1.0 name (`SendMessage`: 0.3 names have a slash, `message/send`), else 0.3 (the spec's default).
 */
export function versionOf(given: string | undefined, method: string): string {
  if (given) return given;
  return method.includes('/') ? '0.3' : '1.0';
}
