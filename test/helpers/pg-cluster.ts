import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { closedPort } from './closed-port.ts';

const bin = (name: string) => `/usr/lib/postgresql/15/bin/${name}`;

/**
 * A PostgreSQL cluster of our own, on a spare loopback port with its socket in its own directory,
 * so an outage test can stop it without touching the machine's shared server. Runs as `postgres`
 * when started as root (PostgreSQL refuses to run as root).
 */
export interface PgCluster {
  url: string;
  port: number;
  /** Stops the server at once (`-m immediate`: no checkpoint, like a crash of the server). */
  stop(): void;
  start(): void;
  /** Stops it if running and deletes its directory. */
  remove(): void;
}

/**
 * `port`: a given spare port (the chaos run is told its own); otherwise any free one. `settings`:
 * server settings over the defaults (fsync is off unless a benchmark turns it back on).
 */
export async function startCluster(port?: number, settings: Record<string, string> = {}): Promise<PgCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'agentry-pg-'));
  const data = path.join(dir, 'data');
  const asPostgres = process.getuid?.() === 0;
  if (asPostgres) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    chownSync(dir, uid, gid);
  }
  const run = (cmd: string, args: string[]) =>
    execFileSync(asPostgres ? 'runuser' : cmd, asPostgres ? ['-u', 'postgres', '--', cmd, ...args] : args, {
      stdio: 'pipe',
      timeout: 60_000,
    });
  run(bin('initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  port ??= await closedPort();
  const all = { listen_addresses: '127.0.0.1', fsync: 'off', ...settings };
  const options = [`-p ${port} -k ${dir}`, ...Object.entries(all).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
  let running = false;
  const cluster: PgCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start() {
      if (running) return;
      run(bin('pg_ctl'), ['-D', data, '-o', options, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']);
      running = true;
    },
    stop() {
      if (!running) return;
      run(bin('pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      running = false;
    },
    remove() {
      cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  cluster.start();
  return cluster;
}
