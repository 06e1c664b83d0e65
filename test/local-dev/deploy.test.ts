import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, tempDir } from '../cli/run-cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

// The agent pool is the only one these tests need; it starts on the first deploy.
const sandbox = { pools: { bwrap: { size: 0 }, quickjs: { size: 0 }, agent: { size: 1 } } };

/** An agent.ts that reports what its handle could and could not do, tagged with a version. */
const agentSource = (version: number, port: number) => `
import type { AgentContext, HandleInput } from './agentry.ts';

export async function handle(input: HandleInput, ctx: AgentContext) {
  const answer = await ctx.model.chat(input.message);
  const product = await ctx.tools.call('calculator', { expression: '6*7' });
  let refused = '';
  try {
    await ctx.tools.call('current_time', {});
  } catch (err) {
    refused = (err as Error).message;
  }
  let network = 'reached the server';
  try {
    await fetch('http://127.0.0.1:${port}/health');
  } catch (err) {
    network = 'blocked: ' + String((err as { cause?: { code?: string } }).cause?.code ?? err);
  }
  console.log('this goes to the log, not the answer');
  return {
    version: ${version},
    answer: answer.content,
    product,
    refused,
    network,
    task: ctx.task?.id ?? null,
    turns: input.messages.length,
  };
}
`;

interface Report {
  version: number;
  answer: string;
  product: unknown;
  refused: string;
  network: string;
  task: string | null;
  turns: number;
}

for (const store of stores) {
  describe(`local-dev agents, scaffold to chat (${store})`, () => {
    let server: TestServer;
    let work: ReturnType<typeof tempDir>;
    let project: string;
    let agentId: string;
    let sessionId: string;
    let env: Record<string, string>;

    const writeAgent = (source: string) => writeFileSync(path.join(project, 'src', 'agent.ts'), source);
    const deploy = () => runCli(['deploy', project], { env });
    const chat = (body: Record<string, unknown>) =>
      server.request('POST', `/v1/agents/${agentId}/chat`, { body: { stream: false, ...body } });
    const report = (text: string) => JSON.parse(text) as Report;

    before(async () => {
      server = await startServer(store, { sandbox });
      work = tempDir('agentry-local-dev-');
      project = path.join(work.dir, 'demo');
      env = { AGENTRY_URL: server.url, AGENTRY_API_KEY: server.adminKey };
    });
    after(async () => {
      await server.close();
      work.remove();
    });

    test('POST /v1/agents/local-dev creates a pool agent and answers where its scaffold is', async () => {
      const res = await server.request('POST', '/v1/agents/local-dev', {
        body: { name: 'demo', tools: ['calculator'] },
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.agent.env, 'pool');
      assert.equal(res.body.agent.source, 'local');
      assert.equal(res.body.deployments_url, `${server.url}/v1/agents/${res.body.agent.id}/deployments`);
      agentId = res.body.agent.id;
      const zip = await fetch(res.body.scaffold_url, {
        headers: { authorization: `Bearer ${server.adminKey}` },
      });
      assert.equal(zip.status, 200);
      assert.equal(zip.headers.get('content-type'), 'application/zip');
    });

    test('a chat before any deployment says how to deploy', async () => {
      const res = await chat({ message: 'hello' });
      assert.equal(res.status, 422, res.text);
      assert.match(res.body.error.message, /no deployment yet.*agentry deploy/);
    });

    test('scaffold, edit, deploy: chat runs the handle in the sandbox (model and tools via ctx, no network)', async () => {
      const scaffold = await runCli(['scaffold', 'demo', project]);
      assert.equal(scaffold.code, 0, scaffold.stderr);
      writeAgent(agentSource(1, Number(new URL(server.url).port)));
      const deployed = await deploy();
      assert.equal(deployed.code, 0, deployed.stderr);
      assert.match(deployed.stdout, /version:\s+1\n/);

      const res = await chat({ message: 'what is 2+3' });
      assert.equal(res.status, 200, res.text);
      sessionId = res.body.session_id;
      const r = report(res.body.response.text);
      assert.equal(r.version, 1);
      assert.equal(r.answer, '5');
      assert.equal(String(r.product), '42');
      assert.match(r.refused, /current_time is not one of agent demo's tools \(calculator\)/);
      assert.match(r.network, /^blocked: /);
      assert.equal(r.task, null);

      // The model call and the tool call are steps of the run; the refused tool never ran.
      const run = await server.request('GET', `/v1/runs/${res.body.run_id}`);
      assert.equal(run.body.status, 'completed');
      assert.deepEqual(
        run.body.steps.map((s: { kind: string; name: string }) => s.kind),
        ['model', 'tool'],
      );
      assert.equal(run.body.steps[1].name, 'calculator');
      assert.equal(run.body.model_calls, 1);

      // The agent pool started with the first deploy and reports its isolation in /health.
      const health = await server.request('GET', '/health');
      const agentSandboxes = health.body.components.agent_sandboxes;
      assert.equal(agentSandboxes.status, 'ok');
      assert.equal(agentSandboxes.detail.isolation.network, 'none (empty network namespace)');
      assert.ok(agentSandboxes.detail.pool.created >= 1);
    });

    test('a redeploy serves the new version, with the session history as input', async () => {
      writeAgent(agentSource(2, Number(new URL(server.url).port)));
      const deployed = await deploy();
      assert.equal(deployed.code, 0, deployed.stderr);
      assert.match(deployed.stdout, /version:\s+2\n/);
      const res = await chat({ message: 'what is 2+3', session_id: sessionId });
      assert.equal(res.status, 200, res.text);
      const r = report(res.body.response.text);
      assert.equal(r.version, 2);
      assert.equal(r.turns, 3); // user, assistant, user
    });

    test('bundles that fail to build or load answer 422 and the previous version keeps serving', async () => {
      writeAgent('export const nothing = 1;\n');
      const noHandle = await deploy();
      assert.equal(noHandle.code, 1);
      assert.match(
        noHandle.stderr,
        /HTTP 422 unprocessable: the bundle did not load: .*does not export a function named handle/,
      );

      writeAgent('export function handle( {\n');
      const broken = await deploy();
      assert.equal(broken.code, 1);
      assert.match(broken.stderr, /build failed:\n.*src\/agent\.ts:\d+:\d+: Expected/);

      const throwsAtLoad = await server.request('POST', `/v1/agents/${agentId}/deployments`, {
        body: { bundle: "throw new Error('boom at load');\nexport function handle() {}\n" },
      });
      assert.equal(throwsAtLoad.status, 422);
      assert.match(throwsAtLoad.body.error.message, /did not load: Error: boom at load/);

      const syntax = await server.request('POST', `/v1/agents/${agentId}/deployments`, {
        body: { bundle: 'export function handle( {' },
      });
      assert.equal(syntax.status, 422);
      assert.equal(syntax.body.error.details.stage, 'build');

      const res = await chat({ message: 'what is 2+3' });
      assert.equal(res.status, 200, res.text);
      assert.equal(report(res.body.response.text).version, 2);

      const list = await server.request('GET', `/v1/agents/${agentId}/deployments`);
      assert.deepEqual(
        list.body.data.map((d: { version: number; current: boolean }) => [d.version, d.current]),
        [
          [2, true],
          [1, false],
        ],
      );
    });

    test('a task for the agent runs its handle, which sees the task', async () => {
      const created = await server.request('POST', '/v1/tasks', {
        body: { agent_id: agentId, task_type: 'default', title: 'what is 2+3' },
      });
      assert.equal(created.status, 202, created.text);
      const task = await eventually(async () => {
        const t = await server.request('GET', `/v1/tasks/${created.body.id}`);
        return ['completed', 'failed'].includes(t.body.status) ? t.body : undefined;
      }, 60_000);
      assert.equal(task.status, 'completed', JSON.stringify(task));
      const r = report(task.result.answer);
      assert.equal(r.version, 2);
      assert.equal(r.task, created.body.id);
    });

    test('a handle that throws fails the run with agent_error (502) and its stack', async () => {
      const bundle = "export async function handle() { throw new TypeError('no luck'); }\n";
      const deployed = await server.request('POST', `/v1/agents/${agentId}/deployments`, {
        body: { bundle },
      });
      assert.equal(deployed.status, 201, deployed.text);
      assert.equal(deployed.body.version, 3);
      const res = await chat({ message: 'hello' });
      assert.equal(res.status, 502, res.text);
      assert.equal(res.body.error.details.code, 'agent_error');
      assert.match(res.body.error.message, /handle threw TypeError: no luck/);
    });

    test('deployments are the tenant’s: another tenant gets 404', async () => {
      const other = await server.request('POST', '/v1/tenants', { body: { name: `other-${store}` } });
      assert.equal(other.status, 201, other.text);
      const key = other.body.admin_key.secret;
      const res = await server.request('GET', `/v1/agents/${agentId}/deployments`, { key });
      assert.equal(res.status, 404);
      const post = await server.request('POST', `/v1/agents/${agentId}/deployments`, {
        key,
        body: { bundle: 'export function handle() {}' },
      });
      assert.equal(post.status, 404);
    });
  });
}
