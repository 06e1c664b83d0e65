import { Fleet, type FleetOptions } from './fleet.ts';
import {
  killWorkers,
  type Row,
  receiverDown,
  rollingRestart,
  type Sizes,
  setUp,
  stopPostgres,
  stopRedis,
} from './scenarios.ts';

/** The chaos run: one fleet, the five scenarios in turn. `npm run chaos` runs `full`, `npm test` `reduced`. */

export interface Preset {
  sizes: Sizes;
  fleet: FleetOptions;
}

// One API process that is never SIGKILLed (clients keep an entry point), processes that serve and
// work (their runs and tasks die with them), and a worker alone.
// (The reduced run has one of each.)
const roles: FleetOptions['roles'] = ['api', 'all', 'all', 'worker'];

const ports = {
  pgPort: Number(process.env.CHAOS_PG_PORT) || undefined,
  redisPort: Number(process.env.CHAOS_REDIS_PORT) || undefined,
};

export const full: Preset = {
  sizes: {
    tasks: 2000,
    runs: 50,
    kills: 10,
    killEveryMs: 4000,
    pgOutageMs: 15_000,
    redisOutageMs: 10_000,
    receiverDownMs: 60_000,
    callbacks: 100,
    calmMs: 2000,
    // A bound, not a wait: a loaded machine restarts processes slowly and the queue drains later.
    settleMs: 600_000,
  },
  fleet: {
    roles,
    slots: 16,
    leaseSeconds: 3,
    mockDelayMs: 500,
    callbackRetry: { baseSeconds: 1, capSeconds: 10 },
    graceSeconds: 10,
    ...ports,
  },
};

export const reduced: Preset = {
  sizes: {
    tasks: 200,
    runs: 8,
    kills: 3,
    killEveryMs: 1500,
    pgOutageMs: 5000,
    redisOutageMs: 3000,
    receiverDownMs: 5000,
    callbacks: 20,
    calmMs: 1000,
    // A bound, not a wait: on an idle machine everything settles in seconds.
    settleMs: 240_000,
  },
  fleet: {
    roles: ['api', 'all', 'worker'],
    slots: 8,
    leaseSeconds: 2,
    mockDelayMs: 150,
    callbackRetry: { baseSeconds: 0.3, capSeconds: 1.5 },
    graceSeconds: 3,
    ...ports,
  },
};

export type ChaosResults = Awaited<ReturnType<typeof runChaos>>;

export async function runChaos(preset: Preset, progress: (line: string) => void = () => {}) {
  const fleet = await Fleet.start(preset.fleet);
  try {
    const agents = await setUp(fleet);
    const s = preset.sizes;
    const step = async <T extends { rows: Row[] }>(name: string, run: () => Promise<T>) => {
      progress(`${name}…`);
      const started = Date.now();
      const result = await run();
      progress(`${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      // A crash is in the figures; the next scenario starts with a whole fleet again.
      const revived = await fleet.revive();
      if (revived.length > 0) progress(`crashed and started again: ${revived.join(', ')}`);
      return result;
    };
    const kill = await step('kill -9 workers', () => killWorkers(fleet, agents, s));
    const pg = await step('PostgreSQL down', () => stopPostgres(fleet, agents, s));
    const redis = await step('Redis down', () => stopRedis(fleet, s));
    const hook = await step('callback receiver down', () => receiverDown(fleet, agents, s));
    const deploy = await step('rolling restart', () => rollingRestart(fleet, agents, s));
    const rows = [kill, pg, redis, hook, deploy].flatMap((r) => r.rows);
    return { kill, pg, redis, hook, deploy, rows, crashes: fleet.crashes };
  } finally {
    await fleet.close();
  }
}
