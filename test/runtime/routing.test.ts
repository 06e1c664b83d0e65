import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Agent, agentEnvs } from '../../src/agents/schema.ts';
import { AppError } from '../../src/errors.ts';
import { executeRun } from '../../src/runtime/loop/execute.ts';
import { executorFor, routeByEnv, routes } from '../../src/runtime/routing.ts';
import type { Advance } from '../../src/runtime/runs/store.ts';
import type { ExecuteDeps, Executor, RunSpec } from '../../src/runtime/types.ts';

/** Where each agent env's runs execute: one entry per env, no executor guessed for a missing one. */

const agent = (fields: Partial<Agent>) => ({ name: 'a1', env: 'in_process', ...fields }) as Agent;
const plugged: Executor = async () => {
  throw new Error('not called');
};

describe('executor routes', () => {
  it('has an entry for every agent env; the loop runs in_process and cloud_shared', () => {
    assert.deepEqual(Object.keys(routes).sort(), [...agentEnvs].sort());
    assert.equal(executorFor(agent({ env: 'in_process' }), {} as never), executeRun);
    assert.equal(executorFor(agent({ env: 'cloud_shared' }), {} as never), executeRun);
    assert.equal(executorFor(agent({ env: 'remote' }), {} as never, { remote: plugged }), plugged);
    // A team's run (POST /v1/multi-agents/:id/run) is the team's whatever its entry agent's env.
    const team = { multi_agent: { id: 'm1' } } as never;
    assert.equal(executorFor(agent({ env: 'in_process' }), team, { multi_agent: plugged }), plugged);
  });

  it('refuses an agent its env cannot run, with what it lacks', () => {
    const refused = (a: Agent, code: string, message: RegExp) =>
      assert.throws(
        () => routeByEnv(a, { remote: plugged, a2a: plugged, multi_agent: plugged }),
        (e: unknown) => e instanceof AppError && e.code === code && message.test(e.message),
      );
    refused(agent({ env: 'remote' }), 'unprocessable', /^agent a1 has env remote but no runtime_url$/);
    refused(
      agent({ env: 'a2a' }),
      'unprocessable',
      /has env a2a but no runtime_url \(the remote agent card's URL\)/,
    );
    refused(agent({ env: 'multi_agent' }), 'unprocessable', /has env multi_agent but no multi_agent_id/);
    refused(
      agent({ env: 'pool' }),
      'not_implemented',
      /env pool\), which is not available in this deployment yet/,
    );
    refused(
      agent({ env: 'cloud_pool' }),
      'not_implemented',
      /^agent a1 has env cloud_pool, which this server cannot run yet$/,
    );
    assert.deepEqual(
      routeByEnv(agent({ env: 'multi_agent', multi_agent_id: 'm1' }), { multi_agent: plugged }),
      {
        id: 'm1',
      },
    );
    assert.equal(routeByEnv(agent({ env: 'in_process' }), {}), undefined);
  });

  it('fails a run whose executor is not plugged in here rather than run it with the loop', async () => {
    const written: Advance[] = [];
    const deps = {
      owner: 'me',
      log: { error() {} },
      onQueued() {},
      store: {
        advance: async (a: Advance) => {
          written.push(a);
          return { events: [], queued: false };
        },
      },
    } as unknown as ExecuteDeps;
    const run = {
      runId: 'r1',
      sessionId: 's1',
      startedAt: Date.now(),
      modelCalls: 0,
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
      signal: new AbortController().signal,
      writer: { record: (statement: (b: never[]) => Promise<unknown>) => statement([]) },
    } as unknown as RunSpec;
    const execute = executorFor(agent({ env: 'remote' }), {} as never, {});
    assert.notEqual(execute, executeRun);
    const result = await execute(deps, run);
    assert.ok(result.status === 'failed', result.status);
    assert.equal(result.error.code, 'not_implemented');
    assert.equal(result.error.message, 'agent a1 has env remote, which this server cannot run yet');
    const end = written.at(-1);
    assert.equal(end?.status, 'failed');
    assert.deepEqual(
      end?.events?.map((e) => e.type),
      ['error', 'session_end'],
    );
  });
});
