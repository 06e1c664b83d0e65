import type { Agent } from '../../../agents/schema.ts';
import { AppError } from '../../../errors.ts';
import { estimateTokens } from '../../../models/tokens.ts';
import { boundDepth } from '../../../text/bound-depth.ts';
import { RunWriter } from '../../runs/end.ts';
import type { Executor } from '../../runtime.ts';
import type { ToolCallRecord } from '../../schema.ts';
import type { ExecuteDeps, RunResult, RunSpec } from '../../types.ts';
import { bridgeMethods } from './methods.ts';
import { type AgentSandboxes, failure } from './sandboxes.ts';

/** The bundle an agent serves with: its newest deployment. */
export interface CurrentBundles {
  current(tenantId: string, agentId: string): Promise<{ version: number; bundle: string } | undefined>;
  currentVersion(tenantId: string, agentId: string): Promise<number | undefined>;
}

const notDeployed = (agent: Agent) =>
  new AppError(
    'unprocessable',
    `agent ${agent.name} has no deployment yet: run "agentry deploy" in its project (POST /v1/agents/${agent.id}/deployments)`,
  );

/** The runtime's admission check for pool agents: one with no deployment is refused before any write. */
export function poolAdmission(bundles: CurrentBundles) {
  return async (tenantId: string, agent: Agent): Promise<void> => {
    if (agent.env === 'pool' && (await bundles.currentVersion(tenantId, agent.id)) === undefined)
      throw notDeployed(agent);
  };
}

/**
 * Runs of local-dev agents (env `pool`): the agent's current bundle's `handle` runs in a fresh
 * sandbox from the agent pool, with the conversation as input and `ctx` answered by the bridge.
 * What handle returns is the run's answer (a string as is, anything else as JSON). A handle that
 * throws or dies fails the run with code `agent_error` (502 to a waiting client); one that runs out
 * of time fails with 504.
 */
export function poolExecutor(bundles: CurrentBundles, sandboxes: AgentSandboxes): Executor {
  return async (deps: ExecuteDeps, run: RunSpec): Promise<RunResult> => {
    const out = new RunWriter(deps, run);
    const name = run.agent.name;
    try {
      const deployed = await bundles.current(run.tenantId, run.agent.id);
      if (!deployed) throw notDeployed(run.agent);
      const history = run.history ?? (await deps.store.history(run.sessionId));
      const conversation = history
        .filter((m) => m.role === 'user' || m.role === 'assistant')
        .map((m) => ({ role: m.role, content: m.content }));
      const message = [...conversation].reverse().find((m) => m.role === 'user')?.content ?? '';
      const taskId = (await deps.store.get(run.tenantId, run.runId)).task_id;
      const toolCalls: ToolCallRecord[] = [];
      const { end, result } = await sandboxes.run({
        bundle: deployed.bundle,
        input: { message, messages: conversation, context: run.context },
        info: {
          agent: { id: run.agent.id, name },
          session: { id: run.sessionId },
          run: { id: run.runId },
          ...(taskId && { task: { id: taskId } }),
        },
        methods: bridgeMethods(deps, run, out, toolCalls),
        signal: run.signal,
      });
      if (run.signal.aborted) throw run.signal.reason;
      if (!end) {
        const why = `agent ${name}'s handle did not finish: ${failure(result)}`;
        throw result.killed === 'timeout'
          ? new AppError('gateway_timeout', why, { details: { run_code: 'agent_timeout' } })
          : new AppError('bad_gateway', why, { details: { run_code: 'agent_error' } });
      }
      if ('error' in end) {
        const [first = 'an error'] = end.error.split('\n');
        throw new AppError('bad_gateway', `agent ${name}'s handle threw ${first}`, {
          details: { run_code: 'agent_error', stack: end.error },
        });
      }
      const text = typeof end.output === 'string' ? end.output : JSON.stringify(boundDepth(end.output));
      run.writer.emit('text', { delta: text });
      return await out.complete({
        text,
        model: `pool:${name}@${deployed.version}`,
        toolCalls,
        messages: [{ role: 'assistant', content: text, tokens: estimateTokens(text) }],
        extra: { deployment_version: deployed.version },
      });
    } catch (err) {
      return out.fail(err);
    }
  };
}
