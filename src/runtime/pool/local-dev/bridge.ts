import { timingSafeEqual } from 'node:crypto';
import { chmodSync } from 'node:fs';
import net from 'node:net';
import { AppError } from '../../../errors.ts';

/** One method the sandbox may call; what it resolves with goes back as JSON. */
export type BridgeMethod = (params: unknown) => Promise<unknown>;

/** A refusal meant for the agent's code (its message is what `ctx.*` rejects with). */
export class BridgeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BridgeError';
  }
}

/** How handle ended, as the harness reported it. */
export type BridgeEnd = { output: unknown } | { error: string };

const MAX_LINE = 8 * 1024 * 1024;
const MAX_IN_FLIGHT = 16;

/**
 * The host side of a local-dev agent's sandbox: a Unix socket in the sandbox's shared folder, the
 * only way out of it. One connection is accepted, and only after it presents the run's token; it then
 * sends `{id, method, params}` lines and gets `{id, result}` or `{id, error}` lines back. The methods
 * are the run's (model gateway, the agent's tools), so the tenant, the tool list and the budgets are
 * enforced here, outside the agent's reach. `end` reports how handle ended.
 */
export class Bridge {
  private connection?: net.Socket;
  private endValue?: BridgeEnd;

  private constructor(
    private readonly server: net.Server,
    private readonly token: Buffer,
    private readonly methods: Record<string, BridgeMethod>,
  ) {}

  static async listen(
    socketPath: string,
    token: string,
    methods: Record<string, BridgeMethod>,
  ): Promise<Bridge> {
    const server = net.createServer();
    const bridge = new Bridge(server, Buffer.from(token), methods);
    server.on('connection', (socket) => bridge.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    // The sandbox runs as another uid; the folder around the socket is what keeps others out.
    chmodSync(socketPath, 0o666);
    return bridge;
  }

  /** What the harness reported before it exited, if it got that far. */
  get ended(): BridgeEnd | undefined {
    return this.endValue;
  }

  async close(): Promise<void> {
    this.connection?.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    if (this.connection) {
      socket.destroy();
      return;
    }
    this.connection = socket;
    let greeted = false;
    let inFlight = 0;
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    const reply = (message: Record<string, unknown>) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
    };
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_LINE) {
        socket.destroy();
        return;
      }
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let message: { hello?: unknown; id?: unknown; method?: unknown; params?: unknown };
        try {
          message = JSON.parse(line);
        } catch {
          socket.destroy();
          return;
        }
        if (!greeted) {
          if (!this.tokenMatches(message.hello)) {
            socket.destroy();
            return;
          }
          greeted = true;
          continue;
        }
        const { id, method, params } = message;
        if (method === 'end') {
          this.endValue = endOf(params);
          reply({ id, result: null });
          continue;
        }
        const fn =
          typeof method === 'string' && Object.hasOwn(this.methods, method)
            ? this.methods[method]
            : undefined;
        if (!fn) {
          reply({ id, error: `unknown method ${String(method)}` });
          continue;
        }
        if (inFlight >= MAX_IN_FLIGHT) {
          reply({ id, error: `too many calls at once (at most ${MAX_IN_FLIGHT})` });
          continue;
        }
        inFlight++;
        fn(params)
          .then(
            (result) => reply({ id, result: result ?? null }),
            (err) => reply({ id, error: messageFor(err) }),
          )
          .finally(() => inFlight--);
      }
    });
  }

  private tokenMatches(hello: unknown): boolean {
    if (typeof hello !== 'string') return false;
    const given = Buffer.from(hello);
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }
}

function endOf(params: unknown): BridgeEnd {
  const p = (params ?? {}) as { output?: unknown; error?: unknown };
  if (typeof p.error === 'string') return { error: p.error.slice(0, 20_000) };
  return { output: p.output ?? null };
}

/** Refusals and gateway errors (budget, policy, rate limit, upstream down) are the agent's to see; internals are not. */
function messageFor(err: unknown): string {
  if (err instanceof BridgeError) return err.message;
  if (err instanceof AppError && err.code !== 'internal' && err.code !== 'config_error')
    return `${err.code}: ${err.message}`;
  return 'internal error in Agentry';
}
