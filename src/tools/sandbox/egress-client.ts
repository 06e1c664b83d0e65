import http from 'node:http';
import { EGRESS_HEADER } from './egress-proxy.ts';

export interface ProxiedResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The body went past `maxBytes` and was cut. */
  truncated: boolean;
  /** The proxy itself answered: `refused` (policy) or `failed` (upstream unreachable). */
  egress?: 'refused' | 'failed';
}

export interface ProxiedRequest {
  method?: string;
  headers?: Record<string, string>;
  maxBytes: number;
  signal?: AbortSignal;
}

/**
 * One request through a tenant's egress proxy socket, as sandboxed clients make it: the host-side
 * web tools use this and nothing else, so the proxy's allowlist and credential injection apply to
 * them exactly as to code in a sandbox.
 */
export function fetchViaProxy(socketPath: string, url: string, r: ProxiedRequest): Promise<ProxiedResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      socketPath,
      method: r.method ?? 'GET',
      // Absolute form, as to any forward proxy: the proxy picks http or https from it.
      path: url,
      headers: { ...r.headers, host: new URL(url).host },
      signal: r.signal,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      const done = () =>
        resolve({
          status: res.statusCode ?? 502,
          headers: res.headers,
          body: Buffer.concat(chunks),
          truncated,
          ...(typeof res.headers[EGRESS_HEADER] === 'string' && {
            egress: res.headers[EGRESS_HEADER] as 'refused' | 'failed',
          }),
        });
      res.on('data', (chunk: Buffer) => {
        if (truncated) return;
        const room = r.maxBytes - size;
        if (chunk.length > room) {
          chunks.push(chunk.subarray(0, room));
          truncated = true;
          res.destroy();
          done();
          return;
        }
        chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', done);
      // A body cut short by the proxy's own limit ends the connection early: what arrived is kept.
      res.on('aborted', () => {
        truncated = true;
        done();
      });
      res.on('error', () => done());
    });
    req.end();
  });
}
