import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { globMatch, loadTenantsFile, TenantPolicies } from '../../src/config/tenant-policy.ts';
import { AppError } from '../../src/errors.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'agentry-tenants-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function tenantsFile(lines: string[]): string {
  const file = path.join(dir, `tenants-${++n}.yaml`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function errorLines(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AppError);
    assert.equal(err.code, 'config_error');
    return err.message.split('\n');
  }
  assert.fail('expected a config error');
}

const valid = [
  'defaults:',
  '  fail_open: false',
  '  models:',
  '    deny: ["openai/gpt-4*"]',
  'tenants:',
  '  acme:',
  '    fail_open: true',
  '    budgets:',
  '      tokens_per_day: 100000',
  '      agents:',
  '        writer:',
  '          cost_per_day: 2.5',
  '    models:',
  '      allow: ["mock/*", "anthropic/*"]',
  '      deny: ["anthropic/claude-opus*"]',
];

describe('tenants.yaml validation', () => {
  it('reads a valid file: per-tenant fail_open, per-agent budgets, model allow/deny', () => {
    const parsed = loadTenantsFile(tenantsFile(valid));
    const acme = parsed.tenants.acme!;
    assert.equal(acme.fail_open, true);
    assert.equal(acme.budgets.tokens_per_day, 100000);
    assert.equal(acme.budgets.agents.writer?.cost_per_day, 2.5);
    assert.deepEqual(acme.models.allow, ['mock/*', 'anthropic/*']);
    assert.deepEqual(acme.models.deny, ['anthropic/claude-opus*']);
    assert.deepEqual(parsed.defaults?.models.deny, ['openai/gpt-4*']);
  });

  it('reports every mistake as <file>:<line>:<col>: <field>: <problem>, in file order', () => {
    const file = tenantsFile([
      'defaults:', //                      1
      '  fail_open: sometimes', //         2
      'tenants:', //                       3
      '  acme:', //                        4
      '    budgets:', //                   5
      '      tokens_per_day: -5', //       6
      '      agents:', //                  7
      '        writer:', //                8
      '          cost_per_day: lots', //   9
      '          tokens_per_week: 1', //   10
      '    models:', //                    11
      '      allow: mock/*', //            12
      '    colour: red', //                13
    ]);
    assert.deepEqual(
      errorLines(() => loadTenantsFile(file)),
      [
        `${file}:2:14: defaults.fail_open: Invalid input: expected boolean, received string`,
        `${file}:6:23: tenants.acme.budgets.tokens_per_day: Too small: expected number to be >0`,
        `${file}:9:25: tenants.acme.budgets.agents.writer.cost_per_day: Invalid input: expected number, received string`,
        `${file}:10:11: tenants.acme.budgets.agents.writer.tokens_per_week: unknown field`,
        `${file}:12:14: tenants.acme.models.allow: Invalid input: expected array, received string`,
        `${file}:13:5: tenants.acme.colour: unknown field`,
      ],
    );
  });

  it('names the line of a YAML syntax error', () => {
    const file = tenantsFile(['tenants:', '  acme:', '    fail_open: true', '   budgets: {}']);
    const [line] = errorLines(() => loadTenantsFile(file));
    assert.match(line!, new RegExp(`^${file.replace(/[.\\/]/g, '\\$&')}:4:\\d+: `));
  });

  it('refuses the wrong shape at the top', () => {
    const file = tenantsFile(['tenants:', '  - acme']);
    assert.deepEqual(
      errorLines(() => loadTenantsFile(file)),
      [`${file}:2:3: tenants: Invalid input: expected record, received array`],
    );
  });

  it('refuses a tenant listed twice', () => {
    const file = tenantsFile(['tenants:', '  acme: {}', '  acme: {}']);
    const [line] = errorLines(() => loadTenantsFile(file));
    assert.match(line!, /:3:\d+: .*[Uu]nique/);
  });
});

describe('TenantPolicies', () => {
  it("resolves a tenant's own entry, then the file's defaults, then the built-in default", () => {
    const policies = new TenantPolicies(tenantsFile(valid));
    assert.equal(policies.resolve('acme').source, 'tenant');
    assert.equal(policies.get('acme').fail_open, true);
    const other = policies.resolve('globex');
    assert.equal(other.source, 'defaults');
    assert.deepEqual(other.policy.models.deny, ['openai/gpt-4*']);
    assert.equal(policies.resolve('constructor').source, 'defaults', 'no prototype keys');

    const none = new TenantPolicies(undefined);
    assert.equal(none.resolve('acme').source, 'builtin');
    assert.equal(none.get('acme').fail_open, false);
  });

  it('reload() swaps in a valid file, and keeps the old policies when the new file is invalid', () => {
    const file = tenantsFile(valid);
    const policies = new TenantPolicies(file);
    let changes = 0;
    policies.onChange(() => changes++);
    const firstLoad = policies.loadedAt;

    writeFileSync(file, 'tenants:\n  acme:\n    fail_open: false\n');
    policies.reload();
    assert.equal(policies.get('acme').fail_open, false);
    assert.equal(policies.resolve('globex').source, 'builtin');
    assert.equal(changes, 1);
    assert.ok(policies.loadedAt >= firstLoad);

    const before = policies.loadedAt;
    writeFileSync(file, 'tenants:\n  acme:\n    fail_open: maybe\n');
    assert.throws(() => policies.reload(), /:3:16: tenants\.acme\.fail_open: /);
    assert.equal(policies.get('acme').fail_open, false, 'the previous policy stays');
    assert.equal(policies.loadedAt, before);
    assert.equal(changes, 1);
  });

  it('a start with an invalid file fails with the file:line:field message', () => {
    const file = tenantsFile(['tenants:', '  acme:', '    fail_open: 3']);
    assert.throws(() => new TenantPolicies(file), /:3:16: tenants\.acme\.fail_open: /);
  });
});

describe('model routing globs', () => {
  it('matches `*` across slashes and `?` as one character, anchored', () => {
    assert.ok(globMatch('openai/*', 'openai/gpt-4o'));
    assert.ok(globMatch('*', 'anthropic/claude'));
    assert.ok(globMatch('mock/defaul?', 'mock/default'));
    assert.ok(!globMatch('openai/*', 'azure/openai/gpt'));
    assert.ok(!globMatch('gpt-4', 'gpt-4o'));
    assert.ok(!globMatch('a.b', 'axb'), 'a dot is literal');
  });
});

describe('a tenants file that cannot be read', () => {
  it('is a config error naming the file, not a bare ENOENT', () => {
    const missing = path.join(dir, 'missing.yaml');
    assert.throws(
      () => new TenantPolicies(missing),
      (err: unknown) =>
        err instanceof AppError &&
        err.code === 'config_error' &&
        err.message.startsWith(`${missing}: cannot read the tenants file: ENOENT`),
    );
  });
});
