import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { closedPort } from './closed-port.ts';
import { eventually } from './eventually.ts';

/**
 * A Redis of our own on a spare loopback port (never the machine's), with nothing saved, that an
 * outage test can stop and start again on the same port.
 */
export interface RedisServer {
  url: string;
  port: number;
  /** Starts it (again) and resolves once it answers PING. */
  start(): Promise<void>;
  /** Kills it at once (SIGKILL: like a crash) and waits for the exit. */
  stop(): Promise<void>;
}

export async function startRedis(port?: number): Promise<RedisServer> {
  const p = port ?? (await closedPort());
  const url = `redis://127.0.0.1:${p}/0`;
  let proc: ChildProcess | undefined;
  const server: RedisServer = {
    url,
    port: p,
    async start() {
      if (proc) return;
      proc = spawn(
        'redis-server',
        ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: 'ignore' },
      );
      await answers(url);
    },
    async stop() {
      const child = proc;
      proc = undefined;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
  await server.start();
  return server;
}

async function answers(url: string): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await eventually(
      async () => {
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG' ? true : undefined;
        } catch {
          probe.disconnect();
          return undefined;
        }
      },
      30_000,
      'redis-server to answer',
    );
  } finally {
    probe.disconnect();
  }
}
