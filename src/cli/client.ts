import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Page } from '../db/page.ts';
import { jsonTooDeep } from '../text/json-limits.ts';

export const DEFAULT_URL = 'http://127.0.0.1:7070';
export const DEFAULT_CREDENTIALS_FILE = './.agentry/credentials.json';

/** The options every command that talks to the server accepts. */
export interface ClientOptions {
  url?: string;
  apiKey?: string;
  json?: boolean;
}

/** Adds `--url`, `--api-key` and `--json` to a command that talks to the server. */
export function withClientOptions(command: Command): Command {
  return command
    .option('--url <url>', `server URL (env AGENTRY_URL, then the credentials file, then ${DEFAULT_URL})`)
    .option('--api-key <key>', 'API key (env AGENTRY_API_KEY, then the credentials file)')
    .option('--json', 'print the raw JSON answer, for scripts');
}

/** Thrown for anything the CLI reports as a one-line error and a non-zero exit. */
export class CliError extends Error {
  constructor(
    message: string,
    /** The HTTP status, when the server answered. */
    readonly status?: number,
    /** The server's error code, when it gave one. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

// What the server writes on first start (src/auth/bootstrap.ts); every field is optional here so a
// file from an older or newer server still gives whatever it has. Checked by hand, not with zod: the
// CLI's start-up time is mostly module loading, and every command reads this file.
interface Credentials {
  url?: string;
  api_key?: string;
  tenant?: string;
}
const isCredentials = (v: unknown): v is Credentials =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  (['url', 'api_key', 'tenant'] as const).every(
    (k) =>
      (v as Record<string, unknown>)[k] === undefined ||
      typeof (v as Record<string, unknown>)[k] === 'string',
  );

export interface Target {
  url: string;
  apiKey?: string;
  /** Where the key came from, for the "no key" message. */
  credentialsFile: string;
}

type Env = Record<string, string | undefined>;

/**
 * Resolves the server URL and the API key, each on its own: flags, then env (`AGENTRY_URL`,
 * `AGENTRY_API_KEY`), then the credentials file the server wrote on first start, then the default URL.
 */
export function resolveTarget(options: ClientOptions, env: Env = process.env): Target {
  const credentialsFile = env.AGENTRY_CREDENTIALS_FILE || DEFAULT_CREDENTIALS_FILE;
  const needFile = !(options.url || env.AGENTRY_URL) || !(options.apiKey || env.AGENTRY_API_KEY);
  const stored = needFile ? readCredentials(credentialsFile) : {};
  const url = options.url || env.AGENTRY_URL || stored.url || DEFAULT_URL;
  if (!/^https?:\/\//.test(url) || !URL.canParse(url)) {
    throw new CliError(`invalid server URL "${url}": expected http://host:port or https://…`);
  }
  return {
    url: url.replace(/\/+$/, ''),
    apiKey: options.apiKey || env.AGENTRY_API_KEY || stored.api_key || undefined,
    credentialsFile,
  };
}

function readCredentials(file: string): Credentials {
  if (!existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read credentials file ${file}: ${(err as Error).message}`);
  }
  if (!isCredentials(parsed)) {
    throw new CliError(`credentials file ${file} is not an object with url, api_key and tenant`);
  }
  return parsed;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  /** False for the few public endpoints (templates): then a missing key is no error. */
  auth?: boolean;
}

/** The API's error body, `{error: {code, message}, request_id?}`, or undefined for anything else. */
function errorBody(v: unknown): { code: string; message: string; requestId?: string } | undefined {
  const body = v as { error?: { code?: unknown; message?: unknown }; request_id?: unknown } | undefined;
  const { code, message } = body?.error ?? {};
  if (typeof code !== 'string' || typeof message !== 'string') return undefined;
  return { code, message, requestId: typeof body?.request_id === 'string' ? body.request_id : undefined };
}

/** Plenty for any API call; a hung server should not hang a script forever. */
const TIMEOUT_MS = 30_000;

/** A thin JSON client for the Agentry HTTP API, as used by the CLI commands. */
export class ApiClient {
  constructor(readonly target: Target) {}

  static from(options: ClientOptions, env: Env = process.env): ApiClient {
    return new ApiClient(resolveTarget(options, env));
  }

  get<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  /** Every item of a paged list endpoint, read 500 at a time; stopping early reads no further page. */
  async *list<T>(path: string, query: RequestOptions['query'] = {}): AsyncGenerator<T> {
    for (let offset = 0; ; offset += 500) {
      const page = await this.get<Page<T>>(path, { query: { ...query, limit: 500, offset } });
      yield* page.data;
      if (page.data.length === 0 || offset + page.data.length >= page.total) return;
    }
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const { url, apiKey, credentialsFile } = this.target;
    if (options.auth !== false && !apiKey) {
      throw new CliError(
        `no API key: pass --api-key, set AGENTRY_API_KEY, or run "agentry serve" once here so it ` +
          `writes ${credentialsFile}`,
      );
    }
    const address = new URL(`${url}${path}`);
    for (const [k, v] of Object.entries(options.query ?? {})) {
      if (v !== undefined) address.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';

    let res: { status: number; ok: boolean; text: string };
    try {
      res = await send(
        method,
        address,
        headers,
        options.body === undefined ? undefined : JSON.stringify(options.body),
      );
    } catch (err) {
      throw new CliError(`cannot reach the Agentry server at ${url}: ${networkReason(err)}`);
    }
    const { text } = res;
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const e = errorBody(parsed);
      if (e) {
        const rid = e.requestId ? ` (request ${e.requestId})` : '';
        throw new CliError(`HTTP ${res.status} ${e.code}: ${e.message}${rid}`, res.status, e.code);
      }
      throw new CliError(`HTTP ${res.status} from ${url}: ${snippet(text)}`, res.status);
    }
    if (text && parsed === undefined) {
      throw new CliError(
        `${url} answered ${method} ${path} with something that is not JSON: ${snippet(text)}`,
      );
    }
    return parsed as T;
  }
}

/** Node's fetch hides the socket error in `cause`; that is the part a person can act on. */
/**
 * One request over node:http(s). Not `fetch`: loading undici costs a one-shot command about 30 ms
 * of CPU, a good part of its whole start-up.
 */
async function send(
  method: string,
  url: URL,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<{ status: number; ok: boolean; text: string }> {
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, timeout: TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        resolve({ status, ok: status >= 200 && status < 300, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })));
    req.on('error', reject);
    req.end(body);
  });
}

function networkReason(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${TIMEOUT_MS / 1000}s`;
  // node:http puts the code on the error itself; fetch put it on its cause.
  const cause = (err as { code?: string }).code
    ? (err as { code?: string; message?: string })
    : (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused (is "agentry serve" running?)';
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  if (cause?.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

const snippet = (text: string) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat || '(empty body)';
};

const cliJsonMaxDepth = 1000;

/** Parses a JSON-valued flag (`--payload '{…}'`), naming the flag when the JSON is bad. */
export function parseJsonFlag(flag: string, value: string | undefined): unknown {
  if (value === undefined) return undefined;
  // No server accepts JSON deeper than this (server.json_max_depth's ceiling); deeper still, sending
  // it would overflow JSON.stringify here. The server's own, lower limit answers with a 400.
  if (jsonTooDeep(value, cliJsonMaxDepth) !== undefined) {
    throw new CliError(`${flag} is nested deeper than ${cliJsonMaxDepth} levels`);
  }
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new CliError(`${flag} is not valid JSON: ${(err as Error).message}`);
  }
}
