import {
  applyNodeChanges,
  Background,
  type Connection,
  Controls,
  type Edge,
  type EdgeChange,
  Handle,
  MarkerType,
  type Node,
  type NodeChange,
  type NodeProps,
  Position,
  ReactFlow,
} from '@xyflow/react';
import { useEffect, useState } from 'react';
import '@xyflow/react/dist/style.css';
import type { Graph, NodeState } from './graph';
import { layout } from './layout';

type AgentNodeData = { name: string; state: NodeState; entry: boolean };
type AgentNode = Node<AgentNodeData, 'agent'>;

/** One member: its name, whether it is the entry, and its state in the run being watched. */
function AgentNodeView({ data }: NodeProps<AgentNode>) {
  return (
    <div className={`team-node state-${data.state.replace(' ', '-')}`}>
      <Handle type="target" position={Position.Left} />
      <strong>{data.name}</strong>
      <span className="small">
        {data.entry ? 'entry · ' : ''}
        {data.state}
      </span>
      <Handle type="source" position={Position.Right} />
    </div>
  );
}
const nodeTypes = { agent: AgentNodeView };

/**
 * The team as a graph (React Flow), laid out by dagre when its members change. With `editable`,
 * dragging from one node's right handle to another's left adds a link, and Delete removes the
 * selected link or member; the lists beside it do the same from the keyboard.
 */
export function TeamGraph({
  graph,
  names,
  states,
  editable,
  onChange,
}: {
  graph: Graph;
  names: Map<string, string>;
  states: Record<string, NodeState>;
  editable: boolean;
  onChange: (g: Graph) => void;
}) {
  const [nodes, setNodes] = useState<AgentNode[]>([]);
  const memberKey = `${graph.members.join(',')}|${graph.links.map((l) => `${l.from}>${l.to}`).join(',')}`;
  // Laid out again when members or links change; positions the user dragged stay otherwise.
  // biome-ignore lint/correctness/useExhaustiveDependencies: memberKey stands for members and links
  useEffect(() => {
    const at = layout(graph.members, graph.links);
    // Known nodes keep their object (with React Flow's measurements) and only move.
    setNodes((prev) =>
      graph.members.map((id) => {
        const known = prev.find((n) => n.id === id);
        const position = at.get(id)!;
        return known
          ? { ...known, position }
          : { id, type: 'agent', position, data: { name: '', state: 'idle', entry: false } };
      }),
    );
  }, [memberKey]);
  const shown = nodes.map((n) => ({
    ...n,
    data: {
      name: names.get(n.id) ?? n.id.slice(-8),
      state: states[n.id] ?? 'idle',
      entry: n.id === graph.entry,
    },
  }));
  const edges: Edge[] = graph.links.map((l) => ({
    id: `${l.from}>${l.to}`,
    source: l.from,
    target: l.to,
    markerEnd: { type: MarkerType.ArrowClosed },
    animated: states[l.from] === 'running' || states[l.to] === 'running',
    ariaLabel: `${names.get(l.from)} to ${names.get(l.to)}`,
  }));
  const onNodesChange = (changes: NodeChange<AgentNode>[]) => {
    const removed = changes.flatMap((c) => (c.type === 'remove' ? [c.id] : []));
    if (removed.length && editable) {
      const members = graph.members.filter((m) => !removed.includes(m));
      onChange({
        members,
        links: graph.links.filter((l) => members.includes(l.from) && members.includes(l.to)),
        entry: members.includes(graph.entry) ? graph.entry : (members[0] ?? ''),
      });
    }
    setNodes((ns) =>
      applyNodeChanges(
        changes.filter((c) => c.type !== 'remove'),
        ns,
      ),
    );
  };
  const onEdgesChange = (changes: EdgeChange[]) => {
    const removed = changes.flatMap((c) => (c.type === 'remove' ? [c.id] : []));
    if (removed.length && editable)
      onChange({ ...graph, links: graph.links.filter((l) => !removed.includes(`${l.from}>${l.to}`)) });
  };
  const onConnect = (c: Connection) => {
    if (!editable || c.source === c.target) return;
    if (graph.links.some((l) => l.from === c.source && l.to === c.target)) return;
    onChange({ ...graph, links: [...graph.links, { from: c.source, to: c.target }] });
  };
  return (
    <div className="team-graph">
      <ReactFlow
        nodes={shown}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        nodesConnectable={editable}
        deleteKeyCode={editable ? ['Delete', 'Backspace'] : null}
        fitView
        fitViewOptions={{ padding: 0.2, maxZoom: 1 }}
        minZoom={0.2}
        colorMode="system"
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
