import type { EventSourceMessage } from 'eventsource-parser';
import { CliError, type Target } from './client.ts';

/** Longer than the server's heartbeat (15 s): a stream silent this long is taken for dead. */
const IDLE_MS = 60_000;

/**
 * Reads a Server-Sent Events stream of the API over node:http(s) (not fetch, as `ApiClient`),
 * handing each event to `onEvent` until it answers true (then the connection is closed) or the
 * stream ends. Resolves whether `onEvent` ended it; rejects on an answer other than 200, a network
 * error or a silent connection.
 */
export async function readEventStream(
  target: Target,
  path: string,
  onEvent: (e: EventSourceMessage) => boolean,
): Promise<boolean> {
  const url = new URL(`${target.url}${path}`);
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  // Loaded here, not at the top: every command loads eval's module, and a one-shot command's
  // start-up is mostly module loading (test/cli/start-cost.test.ts).
  const { createParser } = await import('eventsource-parser');
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      f();
    };
    const req = request(url, { headers, timeout: IDLE_MS }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        settle(() => reject(new CliError(`HTTP ${res.statusCode} from ${path}`, res.statusCode)));
        return;
      }
      const parser = createParser({
        onEvent: (e) => {
          if (settled || !onEvent(e)) return;
          settle(() => resolve(true));
          req.destroy();
        },
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => parser.feed(chunk));
      res.on('end', () => settle(() => resolve(false)));
      res.on('error', (err) => settle(() => reject(err)));
    });
    req.on('timeout', () => req.destroy(new Error(`no event or heartbeat within ${IDLE_MS / 1000} s`)));
    req.on('error', (err) => settle(() => reject(err)));
    req.end();
  });
}
