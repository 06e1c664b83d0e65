import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { stringify } from 'yaml';
import { closedPort } from '../helpers/closed-port.ts';
import { eventually } from '../helpers/eventually.ts';
import { type PgCluster, startCluster } from '../helpers/pg-cluster.ts';
import { type RedisServer, startRedis } from '../helpers/redis-server.ts';
import { ChaosModel } from './model.ts';

/**
 * A fleet of real `agentry` processes on a PostgreSQL cluster and a Redis of its own (spare loopback
 * ports, temp dirs), with the followed runs' model server (model.ts), for the chaos scenarios:
 * processes can be SIGKILLed, stopped and restarted, the database and Redis stopped and started,
 * and a client spreads requests over whichever processes serve the API.
 */

/** What a process does (`agentry serve --role`): the API only, the task queue only, or both. */
export type Role = 'api' | 'worker' | 'all';

export interface FleetOptions {
  roles: Role[];
  /** Task slots of each process that runs workers. */
  slots: number;
  /** Task and run lease, in seconds: how soon a killed process's work is taken over or failed. */
  leaseSeconds: number;
  /** The mock model's delay before each answer (and between its chunks, a fifth of it). */
  mockDelayMs: number;
  callbackRetry: { baseSeconds: number; capSeconds: number };
  /** `server.shutdown_grace_seconds`: the longest a graceful stop takes before the process exits 1. */
  graceSeconds: number;
  /** Spare ports for the cluster and Redis (CHAOS_PG_PORT, CHAOS_REDIS_PORT); any free one otherwise. */
  pgPort?: number;
  redisPort?: number;
}

export interface Proc {
  name: string;
  role: Role;
  child: ChildProcess;
  /** Its HTTP address: the API (api and all roles), or only the health endpoints (worker). */
  url: string;
  /** Ready and not being stopped: the client sends it requests. */
  up: boolean;
  /** Killed or stopped on purpose (any other exit is a crash). */
  ended?: boolean;
  exited: Promise<void>;
  log: string;
}

export interface Answer {
  /** 0: no HTTP answer (refused, reset, timed out). */
  status: number;
  headers?: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: the scenarios read arbitrary JSON answers
  body?: any;
}

const root = fileURLToPath(new URL('../../', import.meta.url));
const agentryBin = path.join(root, 'bin/agentry.js');

/** The one place a process is started, by role: each is `agentry serve --role <role>`. */
function commandFor(role: Role, port: number, slots: number): string[] {
  const workers = role === 'api' ? [] : ['--workers', String(slots)];
  return ['serve', '--role', role, '--port', String(port), ...workers];
}

export class Fleet {
  procs: Proc[] = [];
  /** Processes that exited on their own, by name, in order. */
  crashes: string[] = [];
  adminKey = '';
  /** Verification queries go straight to the database: it is the truth the API answers from. */
  db!: pg.Pool;
  private turn = 0;
  private launches = 0;

  private constructor(
    readonly o: FleetOptions,
    readonly dir: string,
    readonly pg: PgCluster,
    readonly redis: RedisServer,
    readonly model: ChaosModel,
  ) {}

  static async start(o: FleetOptions): Promise<Fleet> {
    const dir = mkdtempSync(path.join(tmpdir(), 'agentry-chaos-'));
    const cluster = await startCluster(o.pgPort);
    const redis = await startRedis(o.redisPort).catch((err) => {
      cluster.remove();
      throw err;
    });
    const fleet = new Fleet(o, dir, cluster, redis, new ChaosModel(o.mockDelayMs));
    await fleet.model.start();
    try {
      fleet.writeConfig();
      fleet.db = new pg.Pool({ connectionString: cluster.url, max: 2 });
      fleet.db.on('error', () => {}); // idle connections die with the outage scenario
      // The first process alone migrates the store and creates the default tenant and its admin key.
      const named = o.roles.map(
        (role, i) => [role, `${role}-${o.roles.slice(0, i + 1).filter((r) => r === role).length}`] as const,
      );
      const [first, ...rest] = named;
      await fleet.launch(...first!);
      fleet.adminKey = JSON.parse(readFileSync(path.join(dir, '.agentry/credentials.json'), 'utf8')).api_key;
      await Promise.all(rest.map((n) => fleet.launch(...n)));
      return fleet;
    } catch (err) {
      await fleet.close();
      throw err;
    }
  }

  private writeConfig(): void {
    const o = this.o;
    const config = {
      log_level: 'warn',
      // The machine is shared: shedding on event-loop lag would mix load-shedding 503s into the figures.
      server: { max_event_loop_delay_ms: 0, shutdown_grace_seconds: o.graceSeconds },
      store: { pool_max: 5, retry_after_seconds: 1 },
      ops_team: { seed: false },
      sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 0 } } },
      tasks: {
        lease_seconds: o.leaseSeconds,
        poll_seconds: 1,
        retry_base_seconds: 0.2,
        retry_cap_seconds: 2,
        callback_max_attempts: 40,
        callback_retry_base_seconds: o.callbackRetry.baseSeconds,
        callback_retry_cap_seconds: o.callbackRetry.capSeconds,
      },
      runtime: { lease_seconds: o.leaseSeconds, workspaces_dir: path.join(this.dir, 'workspaces') },
      models: {
        mock: { first_chunk_delay_ms: o.mockDelayMs, chunk_delay_ms: Math.round(o.mockDelayMs / 5) },
        // The followed runs' model (`chaos/steps`): the harness's own server counts their requests.
        providers: { chaos: { type: 'openai', base_url: `${this.model.url}/v1` } },
      },
    };
    // Two tenants for the Redis scenario: a rate limit makes model calls consult Redis (a limit of
    // 200/min leases 2 calls at a time, so a process holds little when Redis goes), and each has the
    // other fail policy. Callbacks to loopback
    // are allowed for every tenant: the receiver runs here.
    const tenants = {
      defaults: { network: { allow_private_callbacks: true } },
      tenants: {
        open: { fail_open: true, rate_limits: { requests_per_minute: 200 } },
        closed: { fail_open: false, rate_limits: { requests_per_minute: 200 } },
      },
    };
    writeFileSync(path.join(this.dir, 'agentry.yaml'), stringify(config));
    writeFileSync(path.join(this.dir, 'tenants.yaml'), stringify(tenants));
  }

  /** Starts a process of this role and resolves once it is ready (`/health/ready`). */
  async launch(role: Role, name: string) {
    const port = await closedPort();
    const log = path.join(this.dir, `${name}.${++this.launches}.log`);
    const fd = openSync(log, 'a');
    const child = spawn(process.execPath, [agentryBin, ...commandFor(role, port, this.o.slots)], {
      cwd: this.dir,
      env: {
        ...process.env,
        DATABASE_URL: this.pg.url,
        REDIS_URL: this.redis.url,
        AGENTRY_CONFIG: path.join(this.dir, 'agentry.yaml'),
        AGENTRY_TENANTS_FILE: path.join(this.dir, 'tenants.yaml'),
        AGENTRY_HOST: '127.0.0.1',
      },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    const url = `http://127.0.0.1:${port}`;
    const proc: Proc = { name, role, child, url, up: false, exited: Promise.resolve(), log };
    proc.exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        proc.up = false;
        if (!proc.ended) this.crashes.push(name);
        resolve();
      }),
    );
    this.procs = [...this.procs.filter((p) => p.name !== name), proc];
    await eventually(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(
            `${name} exited while starting; see ${log}:\n${readFileSync(log, 'utf8').slice(-2000)}`,
          );
        }
        const r = await fetch(`${url}/health/ready`).catch(() => undefined);
        return r?.status === 200 || undefined;
      },
      180_000, // a shared machine under load can take minutes to start a process
      `${name} to be ready`,
    );
    proc.up = true;
    return proc;
  }

  /** SIGKILL: no drain, no hand-back; what it held is found again when its leases expire. */
  async kill(proc: Proc): Promise<void> {
    proc.up = false;
    proc.ended = true;
    proc.child.kill('SIGKILL');
    await proc.exited;
  }

  /** SIGTERM and wait for the graceful exit (SIGKILL after 30 s). */
  async stop(proc: Proc): Promise<void> {
    proc.up = false;
    proc.ended = true;
    proc.child.kill('SIGTERM');
    const late = setTimeout(() => proc.child.kill('SIGKILL'), 30_000);
    await proc.exited;
    clearTimeout(late);
  }

  /** Starts again every process that crashed; returns their names. */
  async revive(): Promise<string[]> {
    const dead = this.procs.filter(
      (p) => !p.ended && (p.child.exitCode !== null || p.child.signalCode !== null),
    );
    await Promise.all(dead.map((p) => this.launch(p.role, p.name)));
    return dead.map((p) => p.name);
  }

  /** Processes serving the API now, optionally of some roles only. */
  http(roles: Role[] = ['api', 'all']): Proc[] {
    return this.procs.filter((p) => p.up && roles.includes(p.role));
  }

  /** Sends a request to `via`, or to the next HTTP process in turn; never throws. */
  async request(
    method: string,
    pathname: string,
    o: { body?: unknown; key?: string; via?: Proc; timeoutMs?: number } = {},
  ): Promise<Answer> {
    const targets = o.via ? [o.via] : this.http();
    const target = targets[this.turn++ % Math.max(1, targets.length)];
    if (!target) return { status: 0 };
    try {
      const res = await fetch(`${target.url}${pathname}`, {
        method,
        headers: {
          authorization: `Bearer ${o.key ?? this.adminKey}`,
          ...(o.body !== undefined && { 'content-type': 'application/json' }),
        },
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        signal: AbortSignal.timeout(o.timeoutMs ?? 20_000),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {}
      return { status: res.status, headers: res.headers, body };
    } catch {
      return { status: 0 };
    }
  }

  /** Like `request`, for set-up: throws unless the answer is 2xx. */
  // biome-ignore lint/suspicious/noExplicitAny: set-up reads arbitrary JSON answers
  async must(method: string, pathname: string, body?: unknown, key?: string): Promise<any> {
    const r = await this.request(method, pathname, { body, key });
    if (r.status < 200 || r.status > 299) {
      throw new Error(`${method} ${pathname}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    return r.body;
  }

  async count(sql: string, params: unknown[] = []): Promise<number> {
    const { rows } = await this.db.query(sql, params);
    return Number(rows[0]?.n ?? 0);
  }

  async close(): Promise<void> {
    for (const p of this.procs) {
      p.ended = true;
      p.child.kill('SIGKILL');
    }
    await Promise.all(this.procs.map((p) => p.exited));
    await this.db?.end().catch(() => {});
    await this.redis.stop();
    await this.model.close();
    this.pg.remove();
    if (!process.env.CHAOS_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }
}
