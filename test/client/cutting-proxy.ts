import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback in front of the server that cuts one connection mid-answer: the first
 * time an answer's bytes contain `marker`, both sides of that connection are destroyed once the
 * chunk carrying it was handed to the client, as when a network path fails. Later connections pass
 * untouched, unless `refuseAfterCut` (then they are closed at once: a server that stays away). It
 * records the head of every request it forwards.
 */
export interface CuttingProxy {
  url: string;
  /** Connections cut so far (0 or 1). */
  cuts: number;
  /** The request line and headers of each request that went through, lower-cased. */
  requests: string[];
  close(): Promise<void>;
}

export async function cuttingProxy(
  target: string,
  marker: string,
  o: { refuseAfterCut?: boolean } = {},
): Promise<CuttingProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const proxy: CuttingProxy = { url: '', cuts: 0, requests: [], close };
  const server = createServer((client) => {
    if (o.refuseAfterCut && proxy.cuts > 0) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      if (/^(GET|POST|PUT|PATCH|DELETE) /.test(text))
        proxy.requests.push(text.split('\r\n\r\n')[0]!.toLowerCase());
      upstream.write(chunk);
    });
    client.on('end', () => upstream.end());
    let seen = '';
    upstream.on('data', (chunk: Buffer) => {
      if (proxy.cuts > 0) {
        client.write(chunk);
        return;
      }
      // Kept short: the marker may straddle two chunks.
      seen = (seen + chunk.toString('latin1')).slice(-4096);
      if (!seen.includes(marker)) {
        client.write(chunk);
        return;
      }
      proxy.cuts += 1;
      client.write(chunk, () => {
        client.destroy();
        upstream.destroy();
      });
    });
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  function close(): Promise<void> {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  }
  return proxy;
}
