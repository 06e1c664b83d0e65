import http from 'node:http';
import { EGRESS_HEADER } from './egress-proxy.ts';
import { OutputCollector } from './output.ts';

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
      // Past maxBytes the rest is not wanted: the response is dropped and what arrived is the answer.
      const body = new OutputCollector(r.maxBytes, () => {
        res.destroy();
        done();
      });
      let aborted = false;
      const done = () =>
        resolve({
          status: res.statusCode ?? 502,
          headers: res.headers,
          body: body.bytes(),
          truncated: body.truncated || aborted,
          ...(typeof res.headers[EGRESS_HEADER] === 'string' && {
            egress: res.headers[EGRESS_HEADER] as 'refused' | 'failed',
          }),
        });
      res.on('data', (chunk: Buffer) => body.push(chunk));
      res.on('end', done);
      // A body cut short by the proxy's own limit ends the connection early: what arrived is kept.
      res.on('aborted', () => {
        aborted = true;
        done();
      });
      res.on('error', () => done());
    });
    req.end();
  });
}
