import type { Agent } from '../../agents/schema.ts';
import { AppError, type ErrorCode } from '../../errors.ts';
import { estimateTokens } from '../../models/tokens.ts';
import { LoopError, RunAborted, RunDrained, type RunResult } from '../types.ts';
import type { Team } from './multi-agent.ts';

/**
 * A DAG run: the entry agent and every agent reachable from it along the edges. The entry gets the
 * user's message; every other node starts when all its parents (in the run) have finished, with
 * the message and their outputs. Nodes whose parents are done run at once, so independent branches
 * run in parallel. A node that fails skips its descendants, branches that do not depend on it
 * finish, and the run fails naming the node. The answer is the output of the sink nodes. Each node
 * works on its own input: its messages are not added to the session; the run's steps hold them.
 * Streams get `node_start` and `node_end` events, and every event of a node carries `agent`.
 * A node's `node_end` is recorded before any node after it starts: a process that takes the run
 * over (docs/durability.md) reuses the outputs of finished nodes and runs only the others.
 */

type NodeState =
  | { status: 'completed'; text: string }
  | { status: 'failed'; error: unknown }
  | { status: 'skipped' };

export async function runDag(team: Team): Promise<RunResult> {
  const { spec, run, deps, out, members } = team;
  const history = run.history ?? (await deps.store.history(run.sessionId));
  const task = [...history].reverse().find((m) => m.role === 'user')?.content ?? '';
  const nodes = reachable(team.entry.id, spec.edges);
  const parents = new Map<string, string[]>([...nodes].map((id) => [id, []]));
  const children = new Map<string, string[]>([...nodes].map((id) => [id, []]));
  for (const e of spec.edges) {
    if (!nodes.has(e.from) || !nodes.has(e.to)) continue;
    parents.get(e.to)!.push(e.from);
    children.get(e.from)!.push(e.to);
  }
  const agent = (id: string) => members.get(id)!;
  const finished = run.takeover ? await deps.store.finishedNodes(run.runId) : new Map<string, string>();
  const states = new Map<string, Promise<NodeState>>();
  let firstFailure: { node: Agent; error: unknown } | undefined;

  const runNode = (id: string): Promise<NodeState> => {
    const known = states.get(id);
    if (known) return known;
    const started = (async (): Promise<NodeState> => {
      const node = agent(id);
      const done = finished.get(id);
      if (done !== undefined) return { status: 'completed', text: done };
      const inputs = await Promise.all(
        parents.get(id)!.map(async (p) => ({ id: p, state: await runNode(p) })),
      );
      const blocked = inputs.find((i) => i.state.status !== 'completed');
      if (blocked) {
        run.writer.emit('node_end', {
          agent: node.name,
          node_id: id,
          status: 'skipped',
          reason: `upstream node ${agent(blocked.id).name} did not complete`,
        });
        return { status: 'skipped' };
      }
      run.writer.emit('node_start', {
        agent: node.name,
        node_id: id,
        inputs: inputs.map((i) => agent(i.id).name),
      });
      const upstream = inputs.map((i) => `## ${agent(i.id).name}\n${(i.state as { text: string }).text}`);
      const content =
        upstream.length === 0
          ? task
          : `${task}\n\nOutputs of the agents before you:\n\n${upstream.join('\n\n')}`;
      try {
        const outcome = await team.loop(node, [{ role: 'user', content }], { keepMessages: false });
        run.writer.emit('node_end', {
          agent: node.name,
          node_id: id,
          status: 'completed',
          output: outcome.text,
        });
        await out.commit({});
        return { status: 'completed', text: outcome.text };
      } catch (error) {
        // Not the node's failure: the whole run stops (and is carried on elsewhere, or cancelled).
        if (error instanceof RunDrained || error instanceof RunAborted) throw error;
        firstFailure ??= { node, error };
        run.writer.emit('node_end', {
          agent: node.name,
          node_id: id,
          status: 'failed',
          error: error instanceof Error ? error.message : String(error),
        });
        return { status: 'failed', error };
      }
    })();
    states.set(id, started);
    return started;
  };

  const ends = await Promise.all([...nodes].map(async (id) => ({ id, state: await runNode(id) })));
  if (run.signal.aborted) throw run.signal.reason;
  if (firstFailure) throw nodeFailed(firstFailure.node, firstFailure.error, ends, agent);
  const sinks = ends.filter((e) => children.get(e.id)!.length === 0);
  const text =
    sinks.length === 1
      ? (sinks[0]!.state as { text: string }).text
      : sinks.map((e) => `## ${agent(e.id).name}\n${(e.state as { text: string }).text}`).join('\n\n');
  return out.complete({
    text,
    model: sinks.map((e) => agent(e.id).model).join(', '),
    messages: [{ role: 'assistant', content: text, tokens: estimateTokens(text) }],
    extra: { nodes: ends.map((e) => agent(e.id).name) },
  });
}

/** The entry and every node reachable from it, in a stable order. */
function reachable(entry: string, edges: ReadonlyArray<{ from: string; to: string }>): Set<string> {
  const seen = new Set([entry]);
  const queue = [entry];
  while (queue.length > 0) {
    const at = queue.shift()!;
    for (const e of edges) {
      if (e.from === at && !seen.has(e.to)) {
        seen.add(e.to);
        queue.push(e.to);
      }
    }
  }
  return seen;
}

function nodeFailed(
  node: Agent,
  error: unknown,
  ends: Array<{ id: string; state: NodeState }>,
  agent: (id: string) => Agent,
): unknown {
  if (error instanceof RunAborted) return error;
  const skipped = ends.filter((e) => e.state.status === 'skipped').map((e) => agent(e.id).name);
  const code: ErrorCode =
    error instanceof AppError ? error.code : error instanceof LoopError ? 'unprocessable' : 'internal';
  const why = error instanceof AppError || error instanceof LoopError ? error.message : 'internal error';
  return new AppError(
    code,
    `DAG node ${node.name} failed: ${why}${skipped.length > 0 ? `; not run: ${skipped.join(', ')}` : ''}`,
    {
      cause: error,
      details: { run_code: 'node_failed', node: node.name, node_id: node.id, skipped },
    },
  );
}
