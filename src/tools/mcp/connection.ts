import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { McpConfig } from '../../config/mcp-config.ts';
import { guardedFetch, type OutboundNetwork } from '../../net/outbound.ts';
import type { SandboxBind } from '../sandbox/bwrap-args.ts';
import type { SandboxService } from '../sandbox/sandbox.ts';
import { SandboxRefusal } from '../sandbox/types.ts';
import { type JsonSchema, type ToolContext, ToolError } from '../types.ts';
import { SandboxStdioTransport } from './sandbox-transport.ts';
import type { McpServerRow } from './schema.ts';

/** The server could not be reached or did not answer in time: counts against the tool's breaker. */
export class McpUnavailableError extends ToolError {}

/** One tool of an MCP server as this registry offers it. */
export interface McpTool {
  /** `<server>__<tool>`: what agents name and the model calls. */
  name: string;
  /** The tool's own name on its server. */
  remoteName: string;
  description: string;
  parameters: JsonSchema;
}

export interface McpConnectionDeps {
  config: McpConfig;
  sandboxes: SandboxService;
  /** The tenant allows MCP servers (and egress) on private addresses. */
  allowPrivate: () => Promise<boolean>;
  /** DNS and routing of the guarded client: the system's unless a test stands in a fake internet. */
  network?: OutboundNetwork;
  version: string;
  /** The tenant's egress proxy socket for stdio servers' sandboxes, when the tenant may reach anything. */
  egressBind: () => Promise<SandboxBind | undefined>;
}

const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The client side of one registered server, in this process: connects on first use, keeps the
 * tool list for `tools_ttl_ms` (a failed refresh keeps the last good list), and after a broken
 * connection reconnects on the next use — a call that met a dead connection is retried once on a
 * fresh one. Every failure becomes a ToolError naming the server, for the model.
 */
export class McpConnection {
  private client?: Client;
  private connecting?: Promise<Client>;
  private cached?: { tools: McpTool[]; at: number };
  private listing?: Promise<McpTool[]>;
  private idle?: NodeJS.Timeout;
  /** Uses in flight (listings and calls): the idle clock runs only while there are none. */
  private inUse = 0;
  lastError?: string;

  constructor(
    readonly row: McpServerRow,
    private readonly deps: McpConnectionDeps,
  ) {}

  /** Changes when the row does: a connection for an older version of the row is replaced. */
  get version(): string {
    return `${this.row.id}@${new Date(this.row.updated_at).getTime()}`;
  }

  /** The cached tool list, if any (even stale), without connecting. */
  cachedTools(): McpTool[] | undefined {
    return this.cached?.tools;
  }

  async tools(): Promise<McpTool[]> {
    const fresh = this.cached && Date.now() - this.cached.at < this.deps.config.tools_ttl_ms;
    if (fresh) return this.cached!.tools;
    this.listing ??= this.using(() => this.list()).finally(() => {
      this.listing = undefined;
    });
    try {
      return await this.listing;
    } catch (err) {
      if (this.cached) return this.cached.tools;
      throw err;
    }
  }

  /**
   * Calls a tool. The W3C trace context goes in `params._meta` (`traceparent`, `tracestate`, as
   * the OpenTelemetry MCP conventions say, for every transport), and over HTTP also as headers.
   */
  call(
    remoteName: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
    trace?: ToolContext['trace'],
  ): Promise<unknown> {
    return this.using(() => this.callOnce(remoteName, args, signal, trace));
  }

  private async callOnce(
    remoteName: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
    trace?: ToolContext['trace'],
  ): Promise<unknown> {
    const options = { signal, timeout: this.deps.config.call_timeout_ms };
    const params = { name: remoteName, arguments: args, ...(trace && { _meta: { ...trace } }) };
    let client = await this.connect();
    let result: Awaited<ReturnType<Client['callTool']>>;
    try {
      result = await client.callTool(params, undefined, options);
    } catch (err) {
      if (signal.aborted || !brokenConnection(err)) throw this.toolError(err);
      // The server went away since the last call (restart, idle timeout): once more, on a new connection.
      await this.reset();
      client = await this.connect();
      try {
        result = await client.callTool(params, undefined, options);
      } catch (again) {
        throw this.toolError(again);
      }
    }
    const text = resultText(result as CallResult, this.deps.config.max_result_chars);
    if (result.isError) throw new ToolError(text || `${this.row.name} reported an error`);
    return text;
  }

  async close(): Promise<void> {
    await this.reset();
  }

  private async list(): Promise<McpTool[]> {
    const client = await this.connect();
    let listed: Awaited<ReturnType<Client['listTools']>>;
    try {
      listed = await client.listTools(undefined, { timeout: this.deps.config.connect_timeout_ms });
    } catch (err) {
      await this.reset();
      throw this.toolError(err);
    }
    const tools: McpTool[] = [];
    const seen = new Set<string>();
    for (const t of listed.tools) {
      const name = `${this.row.name}__${t.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      // Too long for the providers' tool-name rule, or two names that clean up the same: left out.
      if (!TOOL_NAME.test(name) || seen.has(name)) continue;
      seen.add(name);
      tools.push({
        name,
        remoteName: t.name,
        description: t.description ?? t.title ?? `${t.name} (MCP server ${this.row.name})`,
        parameters: t.inputSchema as JsonSchema,
      });
    }
    this.cached = { tools, at: Date.now() };
    this.lastError = undefined;
    return tools;
  }

  private connect(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().catch((err: unknown) => {
      this.connecting = undefined;
      const e = err instanceof ToolError ? err : this.unreachable(err);
      this.lastError = e.message;
      throw e;
    });
    return this.connecting;
  }

  private async open(): Promise<Client> {
    const transport = await this.transport();
    // The SDK's client loads with the first connection, not in every process (types.js stays: small).
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const client = new Client({ name: 'agentry', version: this.deps.version });
    client.onclose = () => {
      if (this.client === client) this.client = undefined;
      this.connecting = undefined;
    };
    try {
      await client.connect(transport, { timeout: this.deps.config.connect_timeout_ms });
    } catch (err) {
      // The connect error is what matters (rethrown below); the transport is dropped either way.
      await transport.close().catch(() => {});
      throw err;
    }
    this.client = client;
    return client;
  }

  private async transport(): Promise<Transport> {
    const { row } = this;
    if (row.transport === 'http') {
      const headers: Record<string, string> = { ...row.headers };
      if (row.secret) headers.authorization = `Bearer ${row.secret}`;
      // Every request passes the guarded client under the tenant's policy as it is then: each hop's
      // URL checked, each connection's address after DNS, each answer capped. The SDK's own
      // timeouts (connect_timeout_ms, call_timeout_ms) bound the exchanges.
      const { StreamableHTTPClientTransport } = await import(
        '@modelcontextprotocol/sdk/client/streamableHttp.js'
      );
      return new StreamableHTTPClientTransport(new URL(row.url!), {
        requestInit: { headers },
        fetch: withTraceHeaders(
          guardedFetch({
            allowPrivate: this.deps.allowPrivate,
            maxBytes: this.deps.config.max_response_bytes,
            maxRedirects: 3,
            network: this.deps.network,
          }),
        ),
      });
    }
    const argv = [row.command!, ...row.args].map(shellQuote).join(' ');
    const binds: SandboxBind[] = this.deps.config.stdio_paths.map((p) => ({ host: p, sandbox: p }));
    // No network in the sandbox; the tenant's allowlist applies through the proxy socket, if any.
    const egress = await this.deps.egressBind();
    if (egress) binds.push(egress);
    const env = egress ? `export AGENTRY_EGRESS_SOCKET=${egress.sandbox}; ` : '';
    try {
      const { process, close } = await this.deps.sandboxes.openProcess(
        `mcp:${row.name}`,
        `${env}exec ${argv}`,
        binds,
      );
      return new SandboxStdioTransport(process, close);
    } catch (err) {
      if (err instanceof SandboxRefusal)
        throw new McpUnavailableError(`MCP server ${row.name}: ${err.message}`);
      throw err;
    }
  }

  /**
   * An unused connection is closed `idle_ms` after its last use ended (a stdio server's sandbox
   * with it); the next use reconnects. The clock stops while a use is in flight: a call longer
   * than `idle_ms`, or a slow connect, must not have its connection closed under it.
   */
  private async using<T>(use: () => Promise<T>): Promise<T> {
    clearTimeout(this.idle);
    this.inUse++;
    try {
      return await use();
    } finally {
      if (--this.inUse === 0) {
        this.idle = setTimeout(() => void this.reset(), this.deps.config.idle_ms).unref();
      }
    }
  }

  private async reset(): Promise<void> {
    clearTimeout(this.idle);
    const client = this.client;
    this.client = undefined;
    this.connecting = undefined;
    // Dropping a connection: a server already gone cannot be closed twice.
    await client?.close().catch(() => {});
  }

  private unreachable(err: unknown): ToolError {
    return new McpUnavailableError(`MCP server ${this.row.name} is unreachable: ${messageOf(err)}`);
  }

  private toolError(err: unknown): ToolError {
    if (err instanceof ToolError) return err;
    if (err instanceof McpError && err.code === ErrorCode.RequestTimeout) {
      return new McpUnavailableError(
        `MCP server ${this.row.name} did not answer within ${this.deps.config.call_timeout_ms} ms`,
      );
    }
    if (err instanceof McpError && err.code !== ErrorCode.ConnectionClosed)
      return new ToolError(`MCP server ${this.row.name}: ${err.message}`);
    return this.unreachable(err);
  }
}

/**
 * A JSON-RPC request's `params._meta.traceparent` / `tracestate` as HTTP headers too: an MCP
 * server behind plain HTTP tracing (a proxy, the http instrumentation) joins the trace without
 * reading the message.
 */
function withTraceHeaders(inner: typeof fetch): typeof fetch {
  return (input, init) => {
    const meta =
      typeof init?.body === 'string' && init.body.includes('"traceparent"') ? metaOf(init.body) : undefined;
    if (!meta) return inner(input, init);
    const headers = new Headers(init?.headers);
    headers.set('traceparent', meta.traceparent);
    if (meta.tracestate) headers.set('tracestate', meta.tracestate);
    return inner(input, { ...init, headers });
  };
}

function metaOf(body: string): { traceparent: string; tracestate?: string } | undefined {
  try {
    const meta = (JSON.parse(body) as { params?: { _meta?: Record<string, unknown> } }).params?._meta;
    if (typeof meta?.traceparent !== 'string') return undefined;
    return {
      traceparent: meta.traceparent,
      ...(typeof meta.tracestate === 'string' && { tracestate: meta.tracestate }),
    };
  } catch {
    // Not JSON: sent as it is, without trace headers.
    return undefined;
  }
}

interface CallResult {
  content?: Array<{ type: string; text?: string; mimeType?: string; uri?: string }>;
  structuredContent?: unknown;
}

/** What the model sees of a result: its text parts, a note for other parts, or the structured content. */
function resultText(result: CallResult, max: number): string {
  const parts = (result.content ?? []).map((c) =>
    c.type === 'text'
      ? (c.text ?? '')
      : `[${c.type}${c.mimeType ? ` ${c.mimeType}` : ''}${c.uri ? ` ${c.uri}` : ''}]`,
  );
  let text = parts.join('\n');
  if (!text && result.structuredContent !== undefined) text = JSON.stringify(result.structuredContent);
  return text.length > max ? `${text.slice(0, max)}\n[result truncated at ${max} characters]` : text;
}

/** Errors that mean the connection is gone (not the server's answer to this call). */
function brokenConnection(err: unknown): boolean {
  if (err instanceof McpError) return err.code === ErrorCode.ConnectionClosed;
  return true;
}

function messageOf(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string; code?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return `${e.message ?? String(err)}${cause && !e.message?.includes(cause) ? ` (${cause})` : ''}`;
}

/** A word for bash, single-quoted: the command line is evaluated by the sandbox's launcher. */
function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
