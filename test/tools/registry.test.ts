import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { testConfig } from '../../src/config/config.ts';
import { builtinTools, registerBuiltinTools } from '../../src/tools/builtins/registry.ts';
import { ToolRegistry } from '../../src/tools/registry.ts';
import type { EgressProxy } from '../../src/tools/sandbox/egress-proxy.ts';
import type { SandboxService } from '../../src/tools/sandbox/sandbox.ts';
import { type ToolDefinition, ToolError } from '../../src/tools/types.ts';
import { Workspace } from '../../src/tools/workspace.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'agentry-registry-'));
const ctx = (signal = new AbortController().signal) => ({
  signal,
  tenantId: 't',
  sessionId: 's',
  runId: 'r',
  idempotencyKey: 'run:r:0.0',
  workspace: new Workspace(dir),
});

describe('tool registry', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));
  const registry = registerBuiltinTools(new ToolRegistry({ defaultTimeoutMs: 200 }));
  let handled = 0;
  registry.register<{ n: number }>({
    name: 'counter',
    description: 'counts',
    parameters: {
      type: 'object',
      properties: { n: { type: 'integer', minimum: 1 } },
      required: ['n'],
      additionalProperties: false,
    },
    async handler({ n }) {
      handled += n;
      return { total: handled };
    },
  });
  registry.register({
    name: 'sleepy',
    description: 'ignores its signal',
    parameters: { type: 'object' },
    timeout_ms: 50,
    handler: () => new Promise(() => {}),
  });
  registry.register({
    name: 'leaky',
    description: 'fails with a host detail',
    parameters: { type: 'object' },
    async handler() {
      throw new Error('/srv/secret/path exploded');
    },
  });

  it('validates arguments against the schema before the handler runs, naming every problem', async () => {
    const cases: Array<[string, RegExp]> = [
      ['{}', /\/n: must have required property 'n'/],
      ['{"n": 0}', /\/n: must be >= 1/],
      ['{"n": 1, "x": 2}', /\/x: must NOT have additional properties/],
      ['{"n": "1"}', /\/n: must be integer/],
      ['not json', /not valid JSON/],
    ];
    for (const [args, message] of cases) {
      const out = await registry.execute('counter', args, ctx());
      assert.equal(out.ok, false, args);
      assert.match((out as { error: string }).error, message);
    }
    assert.equal(handled, 0, 'no invalid call reached the handler');
    assert.deepEqual(await registry.execute('counter', '{"n": 2}', ctx()), {
      ok: true,
      output: { total: 2 },
    });
  });

  it('stops a call at its time limit or when the run is cancelled, even if the handler ignores its signal', async () => {
    const timed = await registry.execute('sleepy', '{}', ctx());
    assert.deepEqual(timed, { ok: false, error: 'sleepy did not finish within 50 ms' });
    const controller = new AbortController();
    const pending = registry.execute('sleepy', '{}', ctx(controller.signal));
    controller.abort();
    assert.deepEqual(await pending, { ok: false, error: 'sleepy was cancelled' });
  });

  it('keeps internal error details from the model; tool errors pass through', async () => {
    const out = await registry.execute('leaky', '{}', ctx());
    assert.deepEqual(out, { ok: false, error: 'leaky failed: internal error (Error)' });
    assert.deepEqual(await registry.execute('nope', '{}', ctx()), { ok: false, error: 'unknown tool: nope' });
    assert.ok(new ToolError('x') instanceof Error);
  });

  it('answers "not available in this deployment" for sandbox and network tools, never a result', async () => {
    for (const [name, args] of [
      ['bash_execute', { command: 'ls' }],
      ['web_search', { query: 'agentry' }],
      ['web_crawl', { url: 'https://example.com' }],
    ] as const) {
      const out = await registry.execute(name, JSON.stringify(args), ctx());
      assert.equal(out.ok, false);
      assert.match(
        (out as { error: string }).error,
        new RegExp(`^${name} is not available in this deployment`),
      );
    }
    assert.equal(registry.get('bash_execute')?.requires_approval, true);
    assert.equal(registry.get('write_file')?.requires_approval, true);
    assert.equal(registry.get('read_file')?.requires_approval ?? false, false);
  });

  it("checks a built-in tool's arguments at its first call, its schema compiled then", async () => {
    const fresh = registerBuiltinTools(new ToolRegistry({ defaultTimeoutMs: 200 }));
    const bad = await fresh.execute('calculator', '{"expression": 5, "x": 1}', ctx());
    assert.equal(bad.ok, false);
    assert.match(
      (bad as { error: string }).error,
      /^invalid arguments: \/x: must NOT have additional properties; \/expression: must be string$/,
    );
    assert.deepEqual(await fresh.execute('calculator', '{"expression": "6*7"}', ctx()), {
      ok: true,
      output: '42',
    });
  });

  it('offers only the named tools that exist, with their schemas', () => {
    const specs = registry.specs(['calculator', 'missing', 'current_time']);
    assert.deepEqual(
      specs.map((s) => s.function.name),
      ['calculator', 'current_time'],
    );
    assert.equal((specs[0]!.function.parameters as { type: string }).type, 'object');
  });

  it('tells the time in a named zone and refuses an unknown one', async () => {
    const out = await registry.execute('current_time', '{"timezone": "Asia/Tokyo"}', ctx());
    assert.equal(out.ok, true);
    const value = (out as { output: { utc: string; local: string; timezone: string } }).output;
    assert.ok(Math.abs(Date.parse(value.utc) - Date.now()) < 60_000);
    assert.match(value.local, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    const bad = await registry.execute('current_time', '{"timezone": "Mars/Olympus"}', ctx());
    assert.deepEqual(bad, {
      ok: false,
      error: 'unknown time zone: Mars/Olympus (use an IANA name such as "America/New_York")',
    });
  });

  it('makes each built-in tool under its registry name, a placeholder or nothing where its part is missing', () => {
    // The factories only keep what they are given until a call: nothing here is called.
    const full = {
      sandbox: { service: {} as SandboxService, timeoutMs: 1000 },
      egress: { proxy: {} as EgressProxy, config: testConfig().egress },
      ops: {
        db: {} as never,
        health: async () => ({ status: 'green', components: {} }),
        recentTasks: async () => [],
      },
    };
    // Registered here as any other tool is, each schema compiled at once: registerBuiltinTools
    // leaves the compile to a tool's first call, so this is where a broken built-in schema fails.
    const withEveryPart = new ToolRegistry({ defaultTimeoutMs: 1 });
    const bareOnes = new ToolRegistry({ defaultTimeoutMs: 1 });
    for (const [name, make] of Object.entries(builtinTools)) {
      const def = make(full) as ToolDefinition | undefined;
      assert.equal(def?.name, name, `${name} with every part`);
      withEveryPart.register(def!);
      const bare = make({}) as ToolDefinition | undefined;
      if (bare) {
        assert.equal(bare.name, name, `${name} bare`);
        bareOnes.register(bare);
      }
    }
    // A bare registry has the placeholders and the tools that need nothing, in the registry's order.
    assert.deepEqual(
      registerBuiltinTools(new ToolRegistry({ defaultTimeoutMs: 1 })).names(),
      Object.keys(builtinTools).filter(
        (n) => !['run_javascript', 'read_journal', 'system_health', 'recent_tasks'].includes(n),
      ),
    );
  });
});
