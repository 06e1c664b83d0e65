import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Viewer } from '../auth/ownership.ts';
import { AppError } from '../errors.ts';
import type { Actor } from '../events/journal.ts';
import type { Gateway } from '../models/gateway.ts';
import type { CallContext } from '../models/types.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import type { AgentService } from './agents.ts';
import { findCycle } from './dag.ts';
import { heuristicProposal } from './generator-heuristic.ts';
import type { MultiAgentService } from './multi-agents.ts';
import {
  type Agent,
  agentFields,
  type CreateAgentInput,
  createAgentBody,
  createMultiAgentBody,
  type MultiAgentSpec,
} from './schema.ts';

/**
 * Agents from a plain-language requirement: the model proposes one agent or a team (agents plus a
 * swarm or DAG spec) as JSON; the proposal is checked against the agent and multi-agent schemas and
 * the tools this server has, then created with `source: generated`. With the mock provider (and no
 * scripted reply waiting) a deterministic heuristic proposes instead (generator-heuristic.ts). An
 * unreachable model or an invalid proposal is a 502 that creates nothing.
 */

export const generateBody = z
  .object({
    requirement: z.string().trim().min(3).max(10_000),
    /** The model that proposes (default: the configured default model). */
    model: z.string().min(1).max(200).optional(),
  })
  .strict();
export type GenerateInput = z.infer<typeof generateBody>;

const proposedAgent = z
  .object({
    name: agentFields.name,
    description: agentFields.description.default(''),
    system_prompt: agentFields.system_prompt,
    tools: agentFields.tools.default([]),
    mode: agentFields.mode.optional(),
    handoffs: agentFields.handoffs.optional(),
    template_id: z.string().min(1).max(100).optional(),
  })
  .strict();

export const proposalSchema = z
  .object({
    agents: z.array(proposedAgent).min(1).max(8),
    team: z
      .object({
        name: z.string().min(1).max(200),
        kind: z.enum(['swarm', 'dag']),
        entry: agentFields.name.optional(),
        edges: z
          .array(z.object({ from: agentFields.name, to: agentFields.name }).strict())
          .max(100)
          .optional(),
        config: z.record(z.string(), z.unknown()).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type Proposal = z.infer<typeof proposalSchema>;

/**
 * A proposal made ready to save, for a person to review first (the console's "Describe it"): each
 * agent as POST /v1/agents takes it (names made unique, `source: generated`), the team with agents
 * by name. Nothing exists until it is saved (POST /v1/agents/generate/save).
 */
export const generatedDraft = z
  .object({
    agents: z.array(createAgentBody).min(1).max(8),
    team: z
      .object({
        name: z.string().min(1).max(200),
        kind: z.enum(['swarm', 'dag']),
        entry: agentFields.name,
        edges: z
          .array(z.object({ from: agentFields.name, to: agentFields.name }).strict())
          .max(100)
          .default([]),
        config: z.record(z.string(), z.unknown()).default({}),
      })
      .strict()
      .nullable(),
  })
  .strict();
export type GeneratedDraft = z.infer<typeof generatedDraft>;

export interface GeneratorDeps {
  models: Pick<Gateway, 'complete' | 'catalog' | 'mock'>;
  agents: AgentService;
  multiAgents: MultiAgentService;
  tools: ToolRegistry;
  defaultModel: string;
}

export interface Generated {
  agents: Agent[];
  multi_agent: MultiAgentSpec | null;
  generated_by: 'model' | 'heuristic';
  model: string;
}

const INSTRUCTIONS = (tools: string[]) =>
  [
    'You design AI agents. Answer with one JSON object and nothing else:',
    '{"agents": [{"name", "description", "system_prompt", "tools": [..], "handoffs": [names]}],',
    ' "team": {"name", "kind": "swarm" | "dag", "entry": name, "edges": [{"from": name, "to": name}]}}',
    'Propose one agent when one suffices (no "team"), otherwise 2 to 8 agents and a team: "swarm" when',
    'agents pass a conversation between them (handoffs name other agents), "dag" when outputs flow',
    `from agent to agent (edges). Names: letters, digits, "_", "." and "-". Tools only from: ${tools.join(', ')}.`,
  ].join('\n');

export class AgentGenerator {
  constructor(private readonly deps: GeneratorDeps) {}

  /** Proposes and saves at once (the API's one-step form). */
  async generate(
    call: Omit<CallContext, 'signal'>,
    input: GenerateInput,
    who: Actor,
    /** `owner`: the requesting user, who owns the agents made (as for POST /v1/agents). */
    { owner, signal }: { owner?: string; signal?: AbortSignal } = {},
  ): Promise<Generated> {
    const { draft, generated_by, model } = await this.draft(call, input, signal);
    return { ...(await this.save(call.tenantId, draft, who, owner)), generated_by, model };
  }

  /** A proposal as a draft to review: nothing is created. */
  async draft(
    call: Omit<CallContext, 'signal'>,
    input: GenerateInput,
    signal?: AbortSignal,
  ): Promise<{ draft: GeneratedDraft; generated_by: 'model' | 'heuristic'; model: string }> {
    const model = input.model ?? this.deps.defaultModel;
    const resolved = this.deps.models.catalog.resolve(model);
    const known = this.deps.tools.names();
    const heuristic =
      resolved.provider.type === 'mock' && this.deps.models.mock.pending(resolved.model) === 0;
    const proposal = heuristic
      ? heuristicProposal(input.requirement, known)
      : await this.ask(model, input.requirement, known, call, signal);
    return { draft: draftOf(check(proposal, known)), generated_by: heuristic ? 'heuristic' : 'model', model };
  }

  private async ask(
    model: string,
    requirement: string,
    tools: string[],
    call: Omit<CallContext, 'signal'>,
    signal?: AbortSignal,
  ): Promise<unknown> {
    let content: string | null;
    try {
      const answer = await this.deps.models.complete(
        {
          model,
          messages: [
            { role: 'system', content: INSTRUCTIONS(tools) },
            { role: 'user', content: requirement },
          ],
          temperature: 0,
        },
        { ...call, signal },
      );
      content = answer.message.content;
    } catch (err) {
      // The caller's own limits (policy, budget, rate) keep their status; an upstream failure is a 502.
      if (err instanceof AppError && err.status < 500 && err.code !== 'bad_request') throw err;
      const why = err instanceof AppError ? err.message : 'the model call failed';
      throw new AppError('bad_gateway', `the model could not propose agents: ${why}`, { cause: err });
    }
    const text = (content ?? '').replace(/^\s*```(?:json)?\s*|\s*```\s*$/g, '');
    const start = text.indexOf('{');
    const end = text.lastIndexOf('}');
    try {
      if (start < 0 || end < start) throw new Error('no JSON object');
      return JSON.parse(text.slice(start, end + 1));
    } catch {
      throw invalid(`the answer is not a JSON object: ${JSON.stringify((content ?? '').slice(0, 200))}`);
    }
  }

  /**
   * Creates a draft's agents, then its team; a failure removes what was created. The team names
   * agents of the draft only (400 otherwise: the draft came from the client).
   */
  async save(
    tenantId: string,
    draft: GeneratedDraft,
    who: Actor,
    owner: string | undefined,
    /** The caller, when a client sent the draft: setting an agent's budget needs the admin scope. */
    viewer?: Viewer,
  ): Promise<{ agents: Agent[]; multi_agent: MultiAgentSpec | null }> {
    const names = draft.agents.map((a) => a.name);
    if (new Set(names).size !== names.length) throw new AppError('validation_error', 'agent names repeat');
    const team = draft.team;
    const strangers = team ? [team.entry, ...team.edges.flatMap((e) => [e.from, e.to])] : [];
    const unknown = strangers.filter((n) => !names.includes(n));
    if (unknown.length > 0)
      throw new AppError('validation_error', `the team names agents the draft lacks: ${unknown.join(', ')}`);
    const created: Agent[] = [];
    try {
      for (const a of draft.agents)
        created.push(await this.deps.agents.create(tenantId, a, who, owner, viewer));
      if (!team) return { agents: created, multi_agent: null };
      const idOf = (name: string) => created[names.indexOf(name)]!.id;
      const spec = createMultiAgentBody.parse({
        name: team.name,
        kind: team.kind,
        members: created.map((a) => a.id),
        entry_agent_id: idOf(team.entry),
        ...(team.kind === 'dag' && {
          edges: team.edges.map((e) => ({ from: idOf(e.from), to: idOf(e.to) })),
        }),
        config: team.config,
      });
      return { agents: created, multi_agent: await this.deps.multiAgents.create(tenantId, spec, who) };
    } catch (err) {
      for (const a of created) {
        // Best effort: the error that stopped the save is the one to report.
        await this.deps.agents.delete(tenantId, a.id, who, undefined, { evenIfUsed: true }).catch(() => {});
      }
      throw err;
    }
  }
}

/** A checked proposal as a draft: names made unique (a suffix, so the same requirement twice works). */
function draftOf(p: Proposal): GeneratedDraft {
  const suffix = randomBytes(3).toString('hex');
  const rename = (n: string) => `${n.slice(0, 56)}-${suffix}`;
  const agents = p.agents.map(
    (a): CreateAgentInput =>
      createAgentBody.parse({
        ...a,
        name: rename(a.name),
        handoffs: a.handoffs?.map(rename),
        source: 'generated',
        metadata: { generated: true },
      }),
  );
  const team = p.team && {
    name: rename(p.team.name),
    kind: p.team.kind,
    entry: rename(p.team.entry ?? p.agents[0]!.name),
    edges: (p.team.edges ?? []).map((e) => ({ from: rename(e.from), to: rename(e.to) })),
    config: p.team.config ?? {},
  };
  return { agents, team: team ?? null };
}

/** Schema, tools, names and graph of a proposal; anything wrong is the model's fault (502). */
export function check(raw: unknown, knownTools: readonly string[]): Proposal {
  const parsed = proposalSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw invalid(`${first.path.join('.') || 'proposal'}: ${first.message}`);
  }
  const p = parsed.data;
  const names = p.agents.map((a) => a.name);
  if (new Set(names).size !== names.length) throw invalid('agent names repeat');
  const unknownTools = [...new Set(p.agents.flatMap((a) => a.tools))].filter((t) => !knownTools.includes(t));
  if (unknownTools.length > 0) throw invalid(`unknown tools: ${unknownTools.join(', ')}`);
  const strangers = [
    ...p.agents.flatMap((a) => a.handoffs ?? []),
    ...(p.team?.entry ? [p.team.entry] : []),
    ...(p.team?.edges ?? []).flatMap((e) => [e.from, e.to]),
  ].filter((n) => !names.includes(n));
  if (strangers.length > 0)
    throw invalid(`names that are not proposed agents: ${[...new Set(strangers)].join(', ')}`);
  if (p.team && p.agents.length < 2) throw invalid('a team needs at least two agents');
  if (!p.team && p.agents.length > 1) throw invalid('several agents need a team (swarm or dag)');
  if (p.team?.kind === 'swarm' && p.team.edges?.length) throw invalid('edges apply to dag teams only');
  if (p.team?.kind === 'dag') {
    const cycle = findCycle(names, p.team.edges ?? []);
    if (cycle) throw invalid(`the DAG has a cycle: ${cycle.join(' -> ')}`);
  }
  return p;
}

function invalid(why: string): AppError {
  return new AppError('bad_gateway', `the model returned an invalid agent spec: ${why}`);
}
