import type { Agent, MultiAgentSpec } from '../../agents/schema.ts';
import { AppError } from '../../errors.ts';
import { estimateTokens } from '../../models/tokens.ts';
import type { ChatMessage, ToolSpec } from '../../models/types.ts';
import { zeroUsage } from '../../models/usage-details.ts';
import type { SpanParent } from '../../observability/spans.ts';
import { traceHeadersOf } from '../../observability/spans.ts';
import type { ToolOutcome } from '../../tools/types.ts';
import type { A2ARemotes } from '../a2a/remote.ts';
import { callParent, memoryOf, withContext } from '../loop/execute.ts';
import { type LoopOutcome, runLoop } from '../loop/loop.ts';
import { RunWriter } from '../runs/end.ts';
import { type NewMessage, runIdempotencyKey } from '../runs/rows.ts';
import type { Executor } from '../runtime.ts';
import type { AgentSource, ExecuteDeps, Resume, Round, RunSpec } from '../types.ts';
import { runDag } from './dag.ts';
import { runSwarm } from './swarm.ts';

/**
 * Multi-agent runs: a run like any other (same event log, stream, steps and terminal events), whose
 * turns are taken by the members of a spec: a swarm passes the conversation from agent to agent
 * through `transfer_to_<agent>` tools (swarm.ts); a DAG runs its agents as a graph, outputs flowing
 * along the edges (dag.ts). Every event a member's loop emits carries `agent` (its name), so a
 * stream shows who is speaking.
 */
export interface MultiAgentDeps {
  specs: { get(tenantId: string, id: string): Promise<MultiAgentSpec> };
  agents: Pick<AgentSource, 'at'>;
  /** Members with `env: a2a` take their turn on their remote A2A agent. */
  a2a?: A2ARemotes;
}

/** What swarm.ts and dag.ts get: the run, its spec and members, and a loop per member. */
export interface Team {
  deps: ExecuteDeps;
  run: RunSpec;
  spec: MultiAgentSpec;
  members: Map<string, Agent>;
  entry: Agent;
  out: RunWriter;
  /**
   * One member's agent loop over `messages` (the member's system prompt is put first). `keepMessages`
   * false: the rounds' messages are not added to the session (DAG nodes work on their own inputs).
   */
  loop(
    agent: Agent,
    messages: ChatMessage[],
    options: {
      keepMessages: boolean;
      extraTools?: ToolSpec[];
      localTools?: Record<string, (raw: string) => Promise<ToolOutcome>>;
      onRound?: (messages: NewMessage[]) => void;
      afterCommit?: () => void;
      signal?: AbortSignal;
      /** The span this member's turn hangs under, when not the run's (a swarm's handoff). */
      trace?: SpanParent;
      /** A taken-over run: the open tool calls `messages` ends with (recovery.ts). */
      resume?: Resume;
    },
  ): Promise<Extract<LoopOutcome, { kind: 'final' }>>;
}

export function multiAgentExecutor(multiAgent: MultiAgentDeps): Executor {
  return async (deps, run) => {
    const out = new RunWriter(deps, run);
    try {
      const ref = run.options.multi_agent;
      if (!ref) throw new AppError('internal', 'not a multi-agent run');
      const spec = await multiAgent.specs.get(run.tenantId, ref.id);
      const members = new Map<string, Agent>();
      // Each member at its pinned version (`writer@3` in the spec), else its latest; the run records which.
      for (const id of spec.members) {
        members.set(id, await multiAgent.agents.at(run.tenantId, id, spec.member_versions?.[id]));
      }
      await deps.store.recordMemberVersions(
        run.runId,
        Object.fromEntries([...members].map(([id, agent]) => [id, agent.version])),
      );
      const entryId = ref.entry_agent_id ?? spec.entry_agent_id;
      const entry = members.get(entryId);
      if (!entry)
        throw new AppError('unprocessable', `entry agent ${entryId} is not a member of ${spec.name}`);
      const team: Team = {
        deps,
        run,
        spec,
        members,
        entry,
        out,
        loop: memberLoop(deps, run, out, multiAgent.a2a),
      };
      return spec.kind === 'swarm' ? await runSwarm(team) : await runDag(team);
    } catch (err) {
      return out.fail(err);
    }
  };
}

function memberLoop(deps: ExecuteDeps, run: RunSpec, out: RunWriter, a2a?: A2ARemotes): Team['loop'] {
  return async (agent, messages, options) => {
    if (agent.env === 'a2a' && a2a) return remoteTurn(a2a, agent, messages, run, out, options);
    // The member's persona and retrieved knowledge join its system prompt; the conversation is
    // used as given (a swarm cuts it to its own budget, a DAG node gets its inputs).
    const assembled = await memoryOf(deps).assemble({
      tenantId: run.tenantId,
      agent,
      history: messages,
      variables: run.context,
      embed: { tenantId: run.tenantId, tenantName: run.call.tenantName, requestId: run.call.requestId },
      fitHistory: false,
      trace: options.trace ?? callParent(run.call),
    });
    const commit = (round: Round) => {
      const r = withContext(round, assembled.record);
      return out.commit(options.keepMessages ? r : { ...r, messages: [] });
    };
    const outcome = await runLoop({
      models: deps.models,
      tools: deps.tools,
      model: agent.model,
      toolSpecs: [...(await deps.tools.specsFor(run.tenantId, agent.tools)), ...(options.extraTools ?? [])],
      messages: assembled.messages,
      call: {
        ...run.call,
        agentId: agent.id,
        agentName: agent.name,
        ...(options.trace && { traceId: options.trace.traceId, parentSpanId: options.trace.spanId }),
      },
      toolContext: {
        tenantId: run.tenantId,
        sessionId: run.sessionId,
        runId: run.runId,
        workspace: run.workspace,
      },
      // Members take turns counted from 0 each: the member's id keeps their keys apart.
      idempotencyKey: `${runIdempotencyKey(run.runId, run.options)}:${agent.id}`,
      streaming: run.options.streaming,
      maxSteps: run.options.max_steps,
      modelCalls: 0,
      // A pause inside a team would need the whole team's state to resume: tools that need approval
      // are stopped (below) rather than run without it.
      needsApproval: (tool) =>
        agent.mode === 'COLLABORATIVE' && deps.tools.get(tool)?.requires_approval === true,
      localTools: options.localTools,
      resume: options.resume,
      signal: options.signal ? AbortSignal.any([run.signal, options.signal]) : run.signal,
      drain: run.drain,
      recordEachStep: deps.recordEachStep,
      emit: (type, data) => run.writer.emit(type, { ...data, agent: agent.name }),
      commit: async (round) => {
        options.onRound?.(round.messages);
        await commit(round);
        // After a finished tool round only (not a model answer or a result recorded on its own).
        if (round.messages.some((m) => m.role === 'tool')) options.afterCommit?.();
      },
    });
    if (outcome.kind === 'paused') {
      // Steps and usage are kept; the unanswered tool calls stay out of the session.
      await out.commit({ ...withContext(outcome.round, assembled.record), messages: [] });
      throw new AppError(
        'unprocessable',
        `agent ${agent.name} asked for ${outcome.needingApproval.map((c) => c.function.name).join(', ')}, ` +
          'which needs approval (COLLABORATIVE); multi-agent runs do not pause for approval',
      );
    }
    // The final answer's round: written now, so the run's steps hold every member's calls.
    options.onRound?.(outcome.round.messages);
    await commit(outcome.round);
    return outcome;
  };
}

/**
 * A member standing for a remote A2A agent (a handoff target in a swarm, a node in a DAG): the
 * latest user message goes to it and its answer is the member's turn. It calls no tools here, so
 * a swarm does not hand off from it: its answer ends the run.
 */
async function remoteTurn(
  a2a: A2ARemotes,
  agent: Agent,
  messages: ChatMessage[],
  run: RunSpec,
  out: RunWriter,
  options: Parameters<Team['loop']>[2],
): Promise<Extract<LoopOutcome, { kind: 'final' }>> {
  const last = [...messages].reverse().find((m) => m.role === 'user')?.content;
  const answer = await a2a.ask(agent.runtime_url ?? '', typeof last === 'string' ? last : '', {
    tenantId: run.tenantId,
    signal: options.signal ? AbortSignal.any([run.signal, options.signal]) : run.signal,
    requestId: run.call.requestId ?? run.runId,
    trace: traceHeadersOf(
      run.call.traceId
        ? { traceId: run.call.traceId, spanId: run.call.parentSpanId, traceState: run.call.traceState }
        : undefined,
    ),
  });
  run.writer.emit('text', { delta: answer.text, agent: agent.name });
  const round = {
    messages: [{ role: 'assistant' as const, content: answer.text, tokens: estimateTokens(answer.text) }],
    steps: [],
    modelCalls: 0,
    usage: zeroUsage(),
  };
  options.onRound?.(round.messages);
  await out.commit(options.keepMessages ? round : { ...round, messages: [] });
  return {
    kind: 'final',
    text: answer.text,
    model: `a2a:${agent.runtime_url}`,
    finishReason: 'stop',
    round,
    usage: zeroUsage(),
    toolCalls: [],
    modelCalls: 0,
  };
}
