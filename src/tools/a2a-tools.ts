import type { ToolSpec } from '../models/types.ts';
import type { ToolContext, ToolOutcome } from './types.ts';

/** An agent as far as these tools read it (the agents' `Agent` satisfies it). */
interface RemoteAgent {
  name: string;
  description?: string | null;
  env: string;
  runtime_url?: string | null;
}

/**
 * Asks a remote A2A agent one question: the runtime's client (`A2ARemotes`, runtime/a2a/remote.ts),
 * plugged in by the composition root, since tools sit below the runtime.
 */
export interface A2AAsker {
  ask(
    cardUrl: string,
    text: string,
    call: Pick<ToolContext, 'signal' | 'trace' | 'tenantId'> & { requestId?: string },
  ): Promise<{ text: string }>;
}

/**
 * Remote A2A agents as tools (tool kind `a2a`): an agent that lists `a2a__<name>` among its tools
 * may ask the tenant's `env: a2a` agent of that name (its name with anything but letters, digits,
 * `_` and `-` as `_`) one question and gets its answer as the tool result. The call goes through
 * the same client as `env: a2a` runs (runtime/a2a/remote.ts), carrying the tool call's trace context.
 */
export const A2A_TOOL_PREFIX = 'a2a__';

export const a2aToolName = (agentName: string) =>
  `${A2A_TOOL_PREFIX}${agentName.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64);

const parameters = {
  type: 'object',
  properties: { message: { type: 'string', description: 'What to ask the remote agent' } },
  required: ['message'],
  additionalProperties: false,
};

/** Most `env: a2a` agents of a tenant looked at for tool names. */
const maxRemoteAgents = 200;

export class A2ATools {
  /** The tenant's remote agents as last listed here, by tool name. */
  private readonly known = new Map<string, Map<string, RemoteAgent>>();

  constructor(
    private readonly agents: {
      list(tenantId: string, q: { limit: number; offset: number }): Promise<{ data: RemoteAgent[] }>;
    },
    private readonly remotes: A2AAsker,
  ) {}

  owns(name: string): boolean {
    return name.startsWith(A2A_TOOL_PREFIX);
  }

  async specs(tenantId: string, names: readonly string[]): Promise<ToolSpec[]> {
    const wanted = names.filter((n) => this.owns(n));
    if (wanted.length === 0) return [];
    await this.refresh(tenantId);
    return this.cachedSpecs(tenantId, wanted);
  }

  cachedSpecs(tenantId: string, names: readonly string[]): ToolSpec[] {
    const byName = this.known.get(tenantId);
    return names.flatMap((n) => {
      const agent = byName?.get(n);
      if (!agent) return [];
      const what = agent.description ? `: ${agent.description.slice(0, 500)}` : '';
      return [
        {
          type: 'function' as const,
          function: { name: n, description: `Ask the remote A2A agent ${agent.name}${what}`, parameters },
        },
      ];
    });
  }

  /** The call's outcome, or undefined when `name` is no remote agent of the tenant. */
  async execute(name: string, rawArguments: string, ctx: ToolContext): Promise<ToolOutcome | undefined> {
    let agent = this.known.get(ctx.tenantId)?.get(name);
    if (!agent) agent = (await this.refresh(ctx.tenantId)).get(name);
    if (!agent) return undefined;
    let message: unknown;
    try {
      message = (JSON.parse(rawArguments || '{}') as { message?: unknown }).message;
    } catch {
      return { ok: false, error: 'invalid arguments: not JSON' };
    }
    if (typeof message !== 'string' || !message) {
      return { ok: false, error: 'invalid arguments: /message: must be a non-empty string' };
    }
    try {
      const answer = await this.remotes.ask(agent.runtime_url ?? '', message, {
        tenantId: ctx.tenantId,
        signal: ctx.signal,
        requestId: ctx.runId,
        trace: ctx.trace,
      });
      return { ok: true, output: answer.text };
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      return { ok: false, error: (err as Error).message };
    }
  }

  private async refresh(tenantId: string): Promise<Map<string, RemoteAgent>> {
    const page = await this.agents.list(tenantId, { limit: maxRemoteAgents, offset: 0 });
    const byName = new Map(
      page.data.filter((a) => a.env === 'a2a' && a.runtime_url).map((a) => [a2aToolName(a.name), a] as const),
    );
    this.known.set(tenantId, byName);
    return byName;
  }
}
