import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { compatEnabled, compatFamilies as families } from '../../src/config/compat-config.ts';
import { loadConfig } from '../../src/config/config.ts';
import { AppError } from '../../src/errors.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'agentry-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** Writes a YAML file and returns its path. */
function yamlFile(text: string): string {
  const file = path.join(dir, `agentry-${++n}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** The config error message that `fn` throws. */
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
    assert.equal(err.code, 'config_error');
    return err.message;
  }
  assert.fail('expected a config error');
}

describe('loadConfig precedence: flags > env > agentry.yaml > defaults', () => {
  const file = yamlFile(
    ['server:', '  port: 8001', '  body_limit: 2048', 'log_level: warn', 'store:', '  pool_max: 3', ''].join(
      '\n',
    ),
  );

  it('uses the defaults when nothing is given', () => {
    const c = loadConfig({ env: {}, file: yamlFile('') });
    assert.equal(c.server.host, '127.0.0.1');
    assert.equal(c.server.port, 7070);
    assert.equal(c.server.body_limit, 1024 * 1024);
    assert.equal(c.log_level, 'info');
    assert.equal(c.store.data_dir, './.agentry/data');
    assert.equal(c.store.database_url, undefined);
  });

  it('sizes the PGlite buffer cache from AGENTRY_PGLITE_SHARED_BUFFERS_MB, within 16 to 1024 MB', () => {
    assert.equal(loadConfig({ env: {}, file: yamlFile('') }).store.pglite_shared_buffers_mb, undefined);
    const c = loadConfig({ env: { AGENTRY_PGLITE_SHARED_BUFFERS_MB: '512' }, file: yamlFile('') });
    assert.equal(c.store.pglite_shared_buffers_mb, 512);
    configError(() => loadConfig({ env: { AGENTRY_PGLITE_SHARED_BUFFERS_MB: '4096' }, file: yamlFile('') }));
  });

  it('takes the fleet role from AGENTRY_ROLE or fleet.role (all by default), and refuses another', () => {
    assert.equal(loadConfig({ env: {}, file: yamlFile('') }).fleet.role, 'all');
    assert.equal(loadConfig({ env: {}, file: yamlFile('fleet: { role: api }\n') }).fleet.role, 'api');
    assert.equal(
      loadConfig({ env: { AGENTRY_ROLE: 'worker' }, file: yamlFile('fleet: { role: api }\n') }).fleet.role,
      'worker',
    );
    configError(() => loadConfig({ env: { AGENTRY_ROLE: 'boss' }, file: yamlFile('') }));
  });

  it('agentry.yaml overrides the defaults, and only the fields it names', () => {
    const c = loadConfig({ env: {}, file });
    assert.equal(c.server.port, 8001);
    assert.equal(c.server.body_limit, 2048);
    assert.equal(c.log_level, 'warn');
    assert.equal(c.store.pool_max, 3);
    assert.equal(c.server.host, '127.0.0.1', 'untouched fields keep their default');
  });

  it('env overrides agentry.yaml', () => {
    const c = loadConfig({
      env: { AGENTRY_PORT: '8002', AGENTRY_BODY_LIMIT: '4096', AGENTRY_LOG_LEVEL: 'error' },
      file,
    });
    assert.equal(c.server.port, 8002);
    assert.equal(c.server.body_limit, 4096);
    assert.equal(c.log_level, 'error');
    assert.equal(c.store.pool_max, 3, 'file values the env does not set stay');
  });

  it('flags override env', () => {
    const c = loadConfig({
      env: { AGENTRY_PORT: '8002', AGENTRY_LOG_LEVEL: 'error' },
      file,
      flags: { server: { port: 8003 } },
    });
    assert.equal(c.server.port, 8003);
    assert.equal(c.log_level, 'error');
    assert.equal(c.server.body_limit, 2048);
  });

  it('finds the file through AGENTRY_CONFIG', () => {
    const c = loadConfig({ env: { AGENTRY_CONFIG: file } });
    assert.equal(c.server.port, 8001);
  });

  it('treats an empty env var as unset', () => {
    const c = loadConfig({ env: { AGENTRY_PORT: '' }, file });
    assert.equal(c.server.port, 8001);
  });
});

describe('loadConfig errors name where the bad value came from', () => {
  it('a bad env value names the variable and the field', () => {
    const message = configError(() =>
      loadConfig({ env: { AGENTRY_PORT: 'eighty', AGENTRY_LOG_LEVEL: 'loud' }, file: yamlFile('') }),
    );
    const lines = message.split('\n');
    assert.equal(lines[0], 'invalid configuration:');
    assert.match(lines[1]!, /^AGENTRY_PORT: server\.port: /);
    assert.match(lines[2]!, /^AGENTRY_LOG_LEVEL: log_level: .*"debug"/);
    assert.equal(lines.length, 3);
  });

  it('a bad flag is blamed on the flag, not on the env it overrode', () => {
    const message = configError(() =>
      loadConfig({
        env: { AGENTRY_PORT: '9000' },
        file: yamlFile(''),
        flags: { server: { port: 70000 } },
      }),
    );
    assert.match(message, /^invalid configuration:\ncommand-line flag: server\.port: /);
  });

  it('mistakes in agentry.yaml name the file, line, column and field, in file order', () => {
    const file = yamlFile(
      [
        'server:', //               1
        '  port: eighty', //        2
        '  colour: blue', //        3
        'log_level: loud', //       4
        'bogus: 1', //              5
        '',
      ].join('\n'),
    );
    const lines = configError(() => loadConfig({ env: {}, file })).split('\n');
    assert.equal(lines.length, 4, lines.join('\n'));
    assert.match(lines[0]!, new RegExp(`^${escapeRe(file)}:2:9: server\\.port: `));
    assert.equal(lines[1], `${file}:3:3: server.colour: unknown field`);
    assert.match(lines[2]!, new RegExp(`^${escapeRe(file)}:4:12: log_level: Invalid option: .*"info"`));
    assert.equal(lines[3], `${file}:5:1: bogus: unknown field`);
  });

  it('a YAML syntax error names the line', () => {
    const file = yamlFile('server:\n  port: 1\n bad: [\n');
    const message = configError(() => loadConfig({ env: {}, file }));
    assert.match(message, new RegExp(`^${escapeRe(file)}:\\d+:\\d+: `));
  });

  it('an unreadable file is named', () => {
    const missing = path.join(dir, 'nope.yaml');
    const message = configError(() => loadConfig({ env: {}, file: missing }));
    assert.match(message, new RegExp(`^${escapeRe(missing)}: cannot read the config file: .*ENOENT`));
  });
});

describe('secrets stay out of agentry.yaml', () => {
  it('refuses secrets in the file with the line and the variable to use instead', () => {
    const file = yamlFile(
      [
        'store:',
        '  database_url: postgres://app:hunter2@db.internal/agentry',
        'auth:',
        '  jwt_secret: abcdefghijklmnopqrstuvwxyz',
        '  internal_secret: abcdefghijklmnopqrstuvwxyz',
        '',
      ].join('\n'),
    );
    const lines = configError(() => loadConfig({ env: {}, file })).split('\n');
    assert.deepEqual(lines, [
      `${file}:2:17: store.database_url: a secret does not belong in a config file; set DATABASE_URL (or DATABASE_URL_FILE) in the environment`,
      `${file}:4:15: auth.jwt_secret: a secret does not belong in a config file; set AGENTRY_JWT_SECRET (or AGENTRY_JWT_SECRET_FILE) in the environment`,
      `${file}:5:20: auth.internal_secret: a secret does not belong in a config file; set AGENTRY_INTERNAL_SECRET (or AGENTRY_INTERNAL_SECRET_FILE) in the environment`,
    ]);
  });

  it('accepts a database URL without a password in the file', () => {
    const file = yamlFile('store:\n  database_url: postgres://app@db.internal/agentry\n');
    assert.equal(loadConfig({ env: {}, file }).store.database_url, 'postgres://app@db.internal/agentry');
  });

  it('takes secrets from the environment, or from the file a _FILE variable names', () => {
    const secretFile = path.join(dir, 'jwt-secret');
    writeFileSync(secretFile, 'a-secret-that-is-long-enough\n');
    const c = loadConfig({
      env: { AGENTRY_JWT_SECRET_FILE: secretFile, AGENTRY_INTERNAL_SECRET: 'another-long-enough-secret' },
      file: yamlFile(''),
    });
    assert.equal(c.auth.jwt_secret, 'a-secret-that-is-long-enough');
    assert.equal(c.auth.internal_secret, 'another-long-enough-secret');
  });

  it('refuses a secret given twice, and names an unreadable secret file', () => {
    assert.equal(
      configError(() =>
        loadConfig({ env: { DATABASE_URL: 'postgres://x', DATABASE_URL_FILE: '/x' }, file: yamlFile('') }),
      ),
      'DATABASE_URL and DATABASE_URL_FILE are both set; set only one',
    );
    assert.match(
      configError(() =>
        loadConfig({ env: { AGENTRY_JWT_SECRET_FILE: path.join(dir, 'missing') }, file: yamlFile('') }),
      ),
      /^AGENTRY_JWT_SECRET_FILE: cannot read .*missing: .*ENOENT/,
    );
  });
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('tuning settings (docs/settings.md)', () => {
  it('take breakers, retries, timeouts and leases from the environment', () => {
    const c = loadConfig({
      file: yamlFile(''),
      env: {
        AGENTRY_MODEL_BREAKER_THRESHOLD: '9',
        AGENTRY_MODEL_RETRY_BASE_MS: '50',
        AGENTRY_REMOTE_BREAKER_RESET_MS: '1234',
        AGENTRY_RUN_LEASE_SECONDS: '12',
        AGENTRY_TOOL_BREAKER_RESET_MS: '777',
        AGENTRY_A2A_TIMEOUT_MS: '4500',
        AGENTRY_A2A_BREAKER_THRESHOLD: '3',
      },
    });
    assert.equal(c.a2a.timeout_ms, 4500);
    assert.equal(c.a2a.breaker_failures, 3);
    assert.equal(c.models.breaker.failure_threshold, 9);
    assert.equal(c.models.retries.base_ms, 50);
    assert.equal(c.runtime.remote.breaker.reset_ms, 1234);
    assert.equal(c.runtime.lease_seconds, 12);
    assert.equal(c.sandbox.breaker.reset_ms, 777);
  });

  it("read SomaAgent01's TOOL_EXECUTOR_CIRCUIT_* (seconds), Agentry's own names winning", () => {
    const soma = loadConfig({
      file: yamlFile(''),
      env: {
        TOOL_EXECUTOR_CIRCUIT_FAILURE_THRESHOLD: '2',
        TOOL_EXECUTOR_CIRCUIT_RESET_TIMEOUT_SECONDS: '1.5',
      },
    });
    assert.deepEqual(soma.sandbox.breaker, { failure_threshold: 2, reset_ms: 1500 });
    const both = loadConfig({
      file: yamlFile(''),
      env: { TOOL_EXECUTOR_CIRCUIT_RESET_TIMEOUT_SECONDS: '2', AGENTRY_TOOL_BREAKER_RESET_MS: '700' },
    });
    assert.equal(both.sandbox.breaker.reset_ms, 700);
    assert.match(
      configError(() =>
        loadConfig({ file: yamlFile(''), env: { TOOL_EXECUTOR_CIRCUIT_RESET_TIMEOUT_SECONDS: 'soon' } }),
      ),
      /TOOL_EXECUTOR_CIRCUIT_RESET_TIMEOUT_SECONDS: sandbox\.breaker\.reset_ms: .*got "soon"/,
    );
    assert.match(
      configError(() =>
        loadConfig({ file: yamlFile(''), env: { TOOL_EXECUTOR_CIRCUIT_FAILURE_THRESHOLD: '0' } }),
      ),
      /TOOL_EXECUTOR_CIRCUIT_FAILURE_THRESHOLD: sandbox\.breaker\.failure_threshold/,
    );
  });

  it('refuse a backoff base above its cap or a count out of range, naming the variable or field', () => {
    const message = configError(() =>
      loadConfig({ file: yamlFile('models:\n  retries:\n    base_ms: 900\n    max_ms: 100\n'), env: {} }),
    );
    assert.match(message, /models\.retries\.base_ms: base_ms must not exceed max_ms/);
    assert.match(
      configError(() => loadConfig({ file: yamlFile(''), env: { AGENTRY_A2A_RETRIES: '11' } })),
      /AGENTRY_A2A_RETRIES: a2a\.retries/,
    );
  });

  it('are all listed in docs/settings.md, with their variable', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../../docs/settings.md', import.meta.url), 'utf8');
    const source = readFileSync(new URL('../../src/config/config.ts', import.meta.url), 'utf8');
    const tuning = source.slice(
      source.indexOf('// Tuning:'),
      source.indexOf('];', source.indexOf('// Tuning:')),
    );
    const rows = [...tuning.matchAll(/\['(AGENTRY_\w+)', \[([^\]]+)\]\]/g)];
    assert.ok(rows.length >= 25, `${rows.length} tuning variables`);
    for (const [, variable, keys] of rows) {
      const field = keys!.replace(/'/g, '').split(', ').join('.');
      assert.match(doc, new RegExp(`\`${field.replace(/\./g, '\\.')}\` \\| \`${variable}\``), variable);
    }
  });
});

describe("the earlier systems' families (compat)", () => {
  const empty = yamlFile('');
  const pg = { DATABASE_URL: 'postgres://agentry@127.0.0.1:5432/agentry' };

  it('are on with the embedded store and off on PostgreSQL unless switched', () => {
    const embedded = loadConfig({ env: {}, file: empty });
    for (const f of families) assert.equal(compatEnabled(embedded, f), true, f);
    const scaled = loadConfig({ env: pg, file: empty });
    for (const f of families) assert.equal(compatEnabled(scaled, f), false, f);
  });

  it('are switched one by one from agentry.yaml or the environment', () => {
    const file = yamlFile(['compat:', '  zora: true', '  isa: false', ''].join('\n'));
    const c = loadConfig({ env: { ...pg, AGENTRY_COMPAT_PAGI: 'true' }, file });
    assert.deepEqual(families.filter((f) => compatEnabled(c, f)).sort(), ['pagi', 'zora']);
    const off = loadConfig({ env: { AGENTRY_COMPAT_ZAHARA: 'false' }, file: empty });
    assert.deepEqual(
      families.filter((f) => !compatEnabled(off, f)),
      ['zahara'],
    );
    assert.match(
      configError(() => loadConfig({ env: { AGENTRY_COMPAT_SOMA: 'maybe' }, file: empty })),
      /AGENTRY_COMPAT_SOMA/,
    );
  });
});
