import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { EgressConfig } from '../../config/mcp-config.ts';
import type { TenantPolicies, TenantPolicy } from '../../config/tenant-policy.ts';
import type { OutboundNetwork } from '../../net/outbound.ts';
import { guardedLookup, normalHost } from '../../net/ssrf.ts';
import type { Logger } from '../../observability/logger.ts';
import { SANDBOX_GID, SANDBOX_UID, type SandboxBind } from './bwrap-args.ts';
import { allowedDomains, credentialHeaders, egressRefusal } from './egress-allow.ts';

export interface EgressProxyDeps {
  config: EgressConfig;
  policies: TenantPolicies;
  tenantName: (tenantId: string) => Promise<string>;
  log: Logger;
  /** DNS and routing of the guarded client, for the proxy's upstream connections (tests only). */
  network?: OutboundNetwork;
}

/** Where a sandbox allowed egress finds the proxy: `curl --unix-socket /run/egress.sock http://host/…`. */
const EGRESS_SOCKET = '/run/egress.sock';

/** Set on the proxy's own answers (refusals, upstream failures), so clients can tell them from the site's. */
export const EGRESS_HEADER = 'x-agentry-egress';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

/**
 * The host-side egress proxy. Sandboxes have no network; a tool allowed egress reaches it only
 * through this HTTP proxy, on a Unix socket of the tenant's own (bind-mounted into that tenant's
 * sandboxes, so which socket a request arrives on says whose it is). Each request is checked
 * against the tenant's policy as it is now (tenants.yaml, reloaded on SIGHUP): the host must be in
 * `network.egress_allow` (or be the search endpoint's), and private addresses are refused unless
 * `allow_private_egress` — also after DNS, inside the connection's own lookup. The proxy adds the
 * credentials configured for the host, so neither the sandbox nor the tool output sees them.
 *
 * It speaks plain forward-proxy HTTP: absolute-form requests (`GET https://host/path`, the proxy
 * makes the TLS connection), origin-form requests with a Host header (plain http), and CONNECT
 * tunnels to allowed hosts (no credentials can be added inside a tunnel).
 */
export class EgressProxy {
  private dir?: string;
  private ownDir = false;
  private readonly servers = new Map<string, Promise<{ server: http.Server; socket: string }>>();

  constructor(private readonly deps: EgressProxyDeps) {}

  /** The tenant's policy as in force now. */
  async policyFor(tenantId: string): Promise<TenantPolicy> {
    return this.deps.policies.get(await this.deps.tenantName(tenantId));
  }

  /** The tenant's proxy socket on the host, started on first use. */
  socketFor(tenantId: string): Promise<string> {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(tenantId)) throw new Error(`bad tenant id ${tenantId}`);
    let entry = this.servers.get(tenantId);
    if (!entry) {
      entry = this.listen(tenantId);
      this.servers.set(tenantId, entry);
      entry.catch(() => this.servers.delete(tenantId));
    }
    return entry.then((e) => e.socket);
  }

  /**
   * The tenant's socket as a sandbox sees it (bind it with `bwrap --ro-bind`), or undefined when
   * the tenant may reach nothing: then the sandbox gets no socket at all.
   */
  async sandboxBind(tenantId: string): Promise<SandboxBind | undefined> {
    if (allowedDomains(await this.policyFor(tenantId)).length === 0) return undefined;
    return { host: await this.socketFor(tenantId), sandbox: EGRESS_SOCKET };
  }

  async stop(): Promise<void> {
    const all = [...this.servers.values()];
    this.servers.clear();
    for (const entry of await Promise.allSettled(all)) {
      if (entry.status !== 'fulfilled') continue;
      entry.value.server.closeAllConnections();
      await new Promise<void>((r) => entry.value.server.close(() => r()));
    }
    if (this.dir && this.ownDir) rmSync(this.dir, { recursive: true, force: true });
  }

  private folder(): string {
    if (!this.dir) {
      const configured = this.deps.config.socket_dir;
      if (configured) mkdirSync(configured, { recursive: true, mode: 0o711 });
      this.dir = configured ?? mkdtempSync(path.join(tmpdir(), 'agentry-egress-'));
      this.ownDir = !configured;
      // Traversable, not listable: sandboxes reach their socket only through their own bind mount.
      chmodSync(this.dir, 0o711);
    }
    return this.dir;
  }

  private async listen(tenantId: string): Promise<{ server: http.Server; socket: string }> {
    const socket = path.join(this.folder(), `${tenantId}.sock`);
    rmSync(socket, { force: true });
    const server = http.createServer((req, res) => {
      this.forward(tenantId, req, res).catch((err: Error) =>
        answer(res, 502, `egress failed: ${err.message}`),
      );
    });
    server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
      this.tunnel(tenantId, req, client, head).catch(() => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => resolve());
    });
    // Only the sandbox uid (and root) may connect: other host users cannot borrow a tenant's egress.
    if (process.getuid?.() === 0) chownSync(socket, SANDBOX_UID, SANDBOX_GID);
    chmodSync(socket, 0o600);
    return { server, socket };
  }

  private async forward(tenantId: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = targetOf(req);
    if (!target) return answer(res, 400, 'egress: the request names no target (absolute URL or Host header)');
    const policy = await this.policyFor(tenantId);
    const refusal = egressRefusal(policy, target);
    if (refusal) {
      this.deps.log.info({ tenant_id: tenantId, host: target.hostname }, 'egress refused');
      return answer(res, 403, `egress refused: ${refusal}`);
    }
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
    }
    // After the client's own headers: a sandbox cannot override (or learn) the injected ones.
    Object.assign(headers, credentialHeaders(policy, target.hostname, this.deps.log));
    headers.host = target.host;
    const { config } = this.deps;
    const upstream = (target.protocol === 'https:' ? https : http).request(target, {
      method: req.method,
      headers,
      lookup: this.lookup(policy),
      timeout: config.timeout_ms,
      // No pooled connections: one made under one tenant's policy must never carry another's request.
      agent: false,
    });
    upstream.on('timeout', () => upstream.destroy(new Error(`no answer within ${config.timeout_ms} ms`)));
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EREFUSEDADDRESS' ? `${target.hostname} resolves to a private address` : err.message;
      if (!res.headersSent) answer(res, 502, `egress to ${target.hostname} failed: ${why}`);
      else res.destroy();
    });
    upstream.on('response', (up) => {
      const out: IncomingHttpHeaders = {};
      for (const [name, value] of Object.entries(up.headers)) {
        if (!HOP_BY_HOP.has(name) && name !== 'content-length') out[name] = value;
      }
      res.writeHead(up.statusCode ?? 502, out as http.OutgoingHttpHeaders);
      let seen = 0;
      let cut = false;
      up.on('data', (chunk: Buffer) => {
        if (cut) return;
        const room = config.max_response_bytes - seen;
        seen += chunk.length;
        if (chunk.length > room) {
          cut = true;
          // Cut: what fits goes through, then the response is aborted (not ended), so the client
          // can tell a cut body from a whole one.
          res.write(chunk.subarray(0, room), () => res.destroy());
          up.destroy();
          return;
        }
        res.write(chunk);
      });
      up.on('end', () => res.end());
    });
    req.pipe(upstream);
  }

  /** The guarded client's connect-time check, as a socket lookup: every upstream connection passes it. */
  private lookup(policy: TenantPolicy) {
    const { network } = this.deps;
    return guardedLookup(policy.network.allow_private_egress, network?.lookup, network?.dial);
  }

  private async tunnel(tenantId: string, req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    const [host, port] = splitHostPort(req.url ?? '');
    const policy = await this.policyFor(tenantId);
    const refusal = host ? egressRefusal(policy, new URL(`https://${host}:${port}`)) : 'no target';
    if (refusal) {
      client.end(`HTTP/1.1 403 Forbidden\r\n${EGRESS_HEADER}: refused\r\n\r\negress refused: ${refusal}`);
      return;
    }
    const upstream = net.connect({
      host: host!,
      port: Number(port),
      lookup: this.lookup(policy),
    });
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
    client.on('error', () => upstream.destroy());
  }
}

/** Absolute-form `GET http://host/p` as sent to a proxy, or origin-form `GET /p` with a Host header (http). */
function targetOf(req: IncomingMessage): URL | undefined {
  try {
    const raw = req.url ?? '';
    if (/^https?:\/\//i.test(raw)) return new URL(raw);
    if (!req.headers.host) return undefined;
    return new URL(raw, `http://${req.headers.host}`);
  } catch {
    // Not a URL: the request is answered 400, as one naming no target.
    return undefined;
  }
}

function splitHostPort(authority: string): [string | undefined, string] {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(authority);
  return m ? [normalHost(m[1]!), m[2]!] : [undefined, '443'];
}

function answer(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    [EGRESS_HEADER]: status === 403 ? 'refused' : 'failed',
  });
  res.end(message);
}
