import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { buildCli } from '../../src/cli/index.ts';
import { configSchema, loadConfig } from '../../src/config/config.ts';
import { tempDir } from '../cli/run-cli.ts';

const root = new URL('../../', import.meta.url).pathname;
const read = (p: string) => readFileSync(path.join(root, p), 'utf8');

interface Service {
  build?: string;
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  profiles?: string[];
}
const compose = parse(read('compose.yaml'), { merge: true }) as {
  services: Record<string, Service>;
  secrets: Record<string, unknown>;
};
const services = Object.entries(compose.services);
const agentry = services.filter(([, s]) => s.build === '.');
const roleOf = (s: Service) => s.command?.[s.command.indexOf('--role') + 1];

/** `${VAR:-default}` as compose reads it with no .env file. */
const interpolate = (v: string) => v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

describe('compose.yaml', () => {
  it('runs 2 API and 2 worker processes, PostgreSQL and Redis; observability is a profile', () => {
    const roles = agentry.map(([, s]) => s.command?.[0] === 'serve' && roleOf(s)).filter(Boolean);
    assert.deepEqual(roles.sort(), ['api', 'api', 'worker', 'worker']);
    assert.ok(compose.services.postgres?.image?.startsWith('postgres:'));
    assert.ok(compose.services.redis?.image?.startsWith('redis:'));
    for (const name of ['otel-collector', 'prometheus', 'grafana'])
      assert.deepEqual(compose.services[name]?.profiles, ['observability'], name);
  });

  it('names only commands, roles and files that exist in the project', () => {
    const commands = new Set(buildCli().commands.map((c) => c.name()));
    const roles = configSchema.shape.fleet.unwrap().shape.role.unwrap().options as string[];
    for (const [name, s] of agentry) {
      assert.ok(commands.has(s.command![0]!), `${name}: agentry ${s.command![0]} is no command`);
      if (s.command!.includes('--role')) assert.ok(roles.includes(roleOf(s)!), `${name}: role ${roleOf(s)}`);
      // Its environment is a configuration Agentry accepts, naming the shared store and Redis.
      const env = Object.fromEntries(
        Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]),
      );
      delete env.AGENTRY_METRICS_TOKEN_FILE; // a secret mounted by compose, read at start
      const config = loadConfig({ env }).store;
      assert.match(config.database_url ?? '', /@postgres:5432\//, name);
    }
    for (const [name, s] of services) {
      for (const volume of s.volumes ?? []) {
        const host = volume.split(':')[0]!;
        if (host.startsWith('./'))
          assert.ok(existsSync(path.join(root, host)), `${name}: ${host} is missing`);
      }
    }
    assert.ok(compose.secrets.metrics_token);
  });

  it('the Dockerfile is multi-stage, runs as a non-root user and checks /health/ready', () => {
    const dockerfile = read('Dockerfile');
    assert.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 2, 'multi-stage');
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, /^HEALTHCHECK .*\n?.*\/health\/ready/m);
    assert.match(read('src/http/routes/health.ts'), /'\/health\/ready'/);
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(\S+(?: \S+)*) \S+$/gm)) {
      for (const source of m[1]!.split(' ')) assert.ok(existsSync(path.join(root, source)), `COPY ${source}`);
    }
  });

  it("Prometheus's config passes promtool, scraping every Agentry process", () => {
    const tmp = tempDir('agentry-prom-');
    try {
      const token = path.join(tmp.dir, 'token');
      writeFileSync(token, 'a-metrics-token-of-16+');
      const config = read('deploy/prometheus/prometheus.yml').replace('/run/secrets/metrics_token', token);
      writeFileSync(path.join(tmp.dir, 'prometheus.yml'), config);
      copyFileSync(path.join(root, 'deploy/prometheus/alerts.yml'), path.join(tmp.dir, 'alerts.yml'));
      const r = spawnSync('promtool', ['check', 'config', 'prometheus.yml'], {
        cwd: tmp.dir,
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, `${r.error ?? ''}${r.stdout}${r.stderr}`);
      const targets = (
        parse(config) as { scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }> }
      ).scrape_configs[0]!.static_configs[0]!.targets;
      assert.deepEqual(
        targets.map((t) => t.split(':')[0]).sort(),
        agentry
          .filter(([, s]) => s.command?.[0] === 'serve')
          .map(([n]) => n)
          .sort(),
      );
    } finally {
      tmp.remove();
    }
  });
});

describe('docs/deploy.md', () => {
  const doc = read('docs/deploy.md');
  it('covers roles, scaling, upgrades, and the drain and takeover of runs at a stop or a death', () => {
    for (const section of [
      '## Roles',
      '## Scaling',
      '## Upgrades',
      '## Graceful shutdown: drain and takeover',
    ])
      assert.ok(doc.includes(section), section);
    for (const word of [/drain/, /taken? over/, /Last-Event-ID/, /run_resumed/, /interrupted/])
      assert.match(doc, word);
  });

  it('names only settings that exist', () => {
    const shape = configSchema.shape as Record<string, { unwrap?: () => { shape?: object } }>;
    const named = [...doc.matchAll(/`([a-z_]+)\.([a-z_]+)`/g)].filter(([, section]) => section! in shape);
    assert.ok(named.length >= 5, named.join());
    for (const [setting, section, key] of named)
      assert.ok(key! in (shape[section!]!.unwrap?.().shape ?? {}), `${setting} is no setting`);
  });
});

describe('npm pack', () => {
  it('ships what runs (bin, dist, sources and their data files) and no tests', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map(
      (f) => f.path,
    );
    // The console's page registry is the one file of web/src/ the server reads (its fallback paths).
    const shippedSource = new Set(['web/src/app/pages.ts']);
    for (const dir of ['test/', 'bench/', '.ci/', 'node_modules/', 'web/src/'])
      assert.deepEqual(
        files.filter((f) => f.startsWith(dir) && !shippedSource.has(f)),
        [],
        `${dir} is not shipped`,
      );
    for (const needed of [
      'bin/agentry.js',
      'bin/ts-loader.js', // the QuickJS worker thread loads its TypeScript side through it
      'scripts/build.mjs', // bin/agentry.js imports it to check dist/ is current
      'scripts/build-web.mjs', // and this one on `serve`, for the console
      'web/dist/index.html',
      'dist/bin/agentry.js',
      'src/db/migrations/0001_init.sql',
      'src/tools/sandbox/quickjs-thread.js',
      'src/runtime/pool/local-dev/harness.mjs',
      'examples/home-security/pack.yaml',
      'scaffold/agent/package.json',
    ])
      assert.ok(files.includes(needed), `${needed} is shipped`);
  });

  it('a packed copy runs: --version and migrate work from the tarball without a rebuild', () => {
    const tmp = tempDir('agentry-pack-');
    try {
      const packed = spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp.dir], {
        cwd: root,
        encoding: 'utf8',
      });
      assert.equal(packed.status, 0, packed.stderr);
      const tarball = packed.stdout.trim().split('\n').at(-1)!;
      assert.equal(spawnSync('tar', ['-xzf', tarball], { cwd: tmp.dir }).status, 0);
      const pkg = path.join(tmp.dir, 'package');
      // The dependencies npm would install beside it.
      spawnSync('ln', ['-s', path.join(root, 'node_modules'), path.join(pkg, 'node_modules')]);
      const entry = path.join(pkg, 'dist/bin/agentry.js');
      const builtAt = readFileSync(entry);
      const run = (args: string[], env: Record<string, string> = {}) =>
        spawnSync(process.execPath, [path.join(pkg, 'bin/agentry.js'), ...args], {
          cwd: tmp.dir,
          encoding: 'utf8',
          env: { PATH: process.env.PATH, HOME: tmp.dir, ...env },
        });
      const version = run(['--version']);
      assert.equal(version.status, 0, version.stderr);
      assert.equal(version.stdout.trim(), JSON.parse(read('package.json')).version);
      // The shipped seed makes a new store current at once; without it every migration runs.
      const seeded = run(['migrate', '--data-dir', path.join(tmp.dir, 'data')]);
      assert.equal(seeded.status, 0, seeded.stderr);
      assert.match(seeded.stdout, /^store is up to date$/m);
      const migrated = run(['migrate', '--data-dir', path.join(tmp.dir, 'empty')], {
        AGENTRY_PGLITE_SEED_FILE: 'none',
      });
      assert.equal(migrated.status, 0, migrated.stderr);
      assert.match(migrated.stdout, /^applied \d+ migration\(s\)$/m);
      assert.deepEqual(readFileSync(entry), builtAt, 'the shipped build is used as it is');
    } finally {
      tmp.remove();
    }
  });
});
