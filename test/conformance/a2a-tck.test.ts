/**
 * The A2A project's own conformance suite (the TCK, github a2aproject/a2a-tck, vendored under
 * test/conformance/a2a-tck/ with its upstream commit in its README) against the real server, the
 * way docs/interop.md says to run it: one public agent `tck` on `mock/tck`, whose every model call
 * waits 20 s (cut short by a cancel), served at the host's root (`a2a.root_agent`), with blocking
 * sends answered after `a2a.send_wait_ms` (100 ms: the TCK starts some 80 tasks). Its mandatory category over JSON-RPC must pass whole,
 * less the tests docs/interop.md shows to be wrong against the spec (`wrongAgainstSpec`).
 * The TCK's Python dependencies come from pip into a venv under ~/.cache/agentry-tck (setup.sh); a
 * machine without python3's venv module fails with what to install (.ci/run installs it): a suite
 * that skipped would pass while testing less.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startServer, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);
const tckDir = path.join(import.meta.dirname, 'a2a-tck');

/** Mandatory tests that are wrong against A2A 1.0: why, test by test, in docs/interop.md. */
const wrongAgainstSpec = [
  'tests/mandatory/authentication/test_auth_compliance_v030.py::test_security_scheme_structure_compliance',
  'tests/mandatory/authentication/test_auth_enforcement.py::test_authentication_scheme_consistency',
  'tests/mandatory/security/test_agent_card_security.py::test_security_scheme_consistency',
  'tests/mandatory/security/test_agent_card_security.py::test_sensitive_information_protection',
];

/** The same card misreading in the capabilities category (docs/interop.md). */
const capabilityWrongAgainstSpec = [
  'tests/optional/capabilities/test_a2a_v030_authentication.py::TestA2AV030SecuritySchemes::test_security_scheme_structure_compliance',
  'tests/optional/capabilities/test_authentication.py::test_invalid_authentication',
];

/**
 * Tests that fail now and then against a correct server, run once more when they fail
 * (docs/interop.md says why, test by test): keyed by the JUnit name, valued by the pytest node id.
 */
const upstreamFlaky = new Map([
  [
    // It takes "501" anywhere in the error for HTTP 501, and the error quotes the random task id
    // it made up (`non-existent-task-id-<uuid4>`): about one run in 140.
    'tests.optional.capabilities.test_streaming_methods::test_tasks_subscribe_nonexistent',
    'tests/optional/capabilities/test_streaming_methods.py::test_tasks_subscribe_nonexistent',
  ],
  [
    // Its webhook receiver lives the whole session and is never emptied: the earlier test's
    // notification is there already, so it looks at once, before its own task's first one is in.
    'tests.optional.capabilities.test_push_notification_config_methods::test_send_streaming_message_with_push_notification_config',
    'tests/optional/capabilities/test_push_notification_config_methods.py::test_send_streaming_message_with_push_notification_config',
  ],
]);

interface Case {
  name: string;
  outcome: 'passed' | 'failed' | 'skipped';
  message: string;
}

/** The test cases of a pytest JUnit XML report. */
function cases(xml: string): Case[] {
  const out: Case[] = [];
  for (const m of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const attr = (k: string) => new RegExp(`\\b${k}="([^"]*)"`).exec(m[1] ?? '')?.[1] ?? '';
    const body = m[3] ?? '';
    const failed = /<(failure|error)\b([^>]*)/.exec(body);
    out.push({
      name: `${attr('classname')}::${attr('name')}`,
      outcome: failed ? 'failed' : /<skipped\b/.test(body) ? 'skipped' : 'passed',
      message: failed ? (/message="([^"]*)"/.exec(failed[2] ?? '')?.[1] ?? '') : '',
    });
  }
  return out;
}

describe('A2A TCK over JSON-RPC', () => {
  let s: TestServer;
  let out: string;
  let python: string;
  let tck: { name: string; id: string };
  let quick: { name: string; id: string };
  before(async () => {
    const setup = await run(path.join(tckDir, 'setup.sh'), [], { timeout: 600_000 }).catch(
      (err: { stderr?: string; message: string }) => {
        throw new Error(`the TCK's Python environment could not be made: ${err.stderr || err.message}`);
      },
    );
    python = setup.stdout.trim().split('\n').at(-1) as string;
    s = await startServer('pglite', {
      a2a: { root_agent: 'tck', send_wait_ms: 100 },
      models: { mock: { delays: { tck: 20_000, 'tck-quick': 3000 } } },
    });
    const agent = async (name: string) => {
      const r = await s.request('POST', '/v1/agents', {
        body: { name, model: `mock/${name}`, visibility: 'public' },
      });
      assert.equal(r.status, 201, r.text);
      return { name, id: r.body.id as string };
    };
    tck = await agent('tck');
    // The capability tests wait for streamed tasks to end: an agent whose tasks work 3 s.
    quick = await agent('tck-quick');
    out = mkdtempSync(path.join(tmpdir(), 'a2a-tck-'));
  });
  after(async () => {
    await s?.close();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  /** Runs pytest with `args` against the agent `root` over JSON-RPC; its JUnit cases and output. */
  async function pytest(root: { id: string }, args: string[], report: string) {
    const res = await run(
      python,
      [
        '-m',
        'pytest',
        ...args,
        // The agent's JSON-RPC endpoint; the TCK finds the card at the host's root (a2a.root_agent).
        `--sut-url=${s.url}/a2a/${root.id}`,
        '--test-scope=all',
        '--transports=jsonrpc',
        '-p',
        'no:cacheprovider',
        '-q',
        '--tb=line',
        `--junitxml=${report}`,
      ],
      {
        cwd: tckDir,
        timeout: 240_000,
        maxBuffer: 16 * 1024 * 1024,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          PYTHONDONTWRITEBYTECODE: '1',
          A2A_AUTH_TYPE: 'bearer',
          A2A_AUTH_TOKEN: s.adminKey,
          A2A_AUTH_HEADERS: JSON.stringify({ 'A2A-Version': '1.0' }),
        },
      },
    ).catch((err: { stdout?: string; stderr?: string }) => ({
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? '',
    }));
    return { ...res, cases: cases(readFileSync(report, 'utf8')) };
  }

  /** Runs one category's tests with pytest against the agent `root`; asserts none failed. */
  async function category(
    name: string,
    root: { name: string; id: string },
    args: string[],
    deselect: string[],
    least: number,
  ): Promise<void> {
    s.app.services.config.a2a.root_agent = root.name;
    const res = await pytest(
      root,
      [...args, ...deselect.flatMap((t) => ['--deselect', t])],
      path.join(out, `${name}.xml`),
    );
    let all = res.cases;
    const again = all.filter((c) => c.outcome === 'failed' && upstreamFlaky.has(c.name));
    if (again.length > 0) {
      const rerun = await pytest(
        root,
        again.map((c) => upstreamFlaky.get(c.name) as string),
        path.join(out, `${name}-again.xml`),
      );
      console.log(`A2A TCK ${name}: ran again ${again.map((c) => c.name).join(', ')}`);
      all = all.map((c) => rerun.cases.find((r) => r.name === c.name) ?? c);
    }
    const failed = all.filter((c) => c.outcome === 'failed');
    const passed = all.filter((c) => c.outcome === 'passed');
    console.log(
      `A2A TCK ${name} (JSON-RPC): ${passed.length} passed, ${failed.length} failed, ` +
        `${all.length - passed.length - failed.length} skipped, ${deselect.length} deselected`,
    );
    assert.ok(passed.length >= least, `the TCK ran too few tests:\n${res.stdout}\n${res.stderr}`);
    assert.deepEqual(
      failed.map((c) => `${c.name}: ${c.message.slice(0, 300)}`),
      [],
      res.stdout.slice(-20_000),
    );
  }

  it('passes every mandatory test', { timeout: 300_000 }, async () => {
    await category(
      'mandatory',
      tck,
      ['tests/mandatory/', '-m', 'mandatory or mandatory_protocol or mandatory_jsonrpc'],
      wrongAgainstSpec,
      75,
    );
  });

  it('passes every test of the capabilities it declares (streaming, push notifications)', {
    timeout: 300_000,
  }, async () => {
    // Its push tests post to a receiver of their own on localhost: the tenant allows private egress.
    const me = await s.app.services.tenants.find(s.app.defaultTenantId);
    s.app.services.policies.set({ tenants: { [me!.name]: { network: { allow_private_egress: true } } } });
    await category('capabilities', quick, ['tests/optional/capabilities/'], capabilityWrongAgainstSpec, 35);
  });
});
