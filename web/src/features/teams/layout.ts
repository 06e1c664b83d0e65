import dagre from '@dagrejs/dagre';

export const NODE_W = 200;
export const NODE_H = 64;

/** Top-left positions of the nodes, laid out left to right by dagre (which gives centres). */
export function layout(
  ids: string[],
  edges: Array<{ from: string; to: string }>,
): Map<string, { x: number; y: number }> {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 32, ranksep: 72 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const id of ids) g.setNode(id, { width: NODE_W, height: NODE_H });
  for (const e of edges) if (g.hasNode(e.from) && g.hasNode(e.to)) g.setEdge(e.from, e.to);
  dagre.layout(g);
  return new Map(
    ids.map((id) => {
      const n = g.node(id);
      return [id, { x: n.x - NODE_W / 2, y: n.y - NODE_H / 2 }];
    }),
  );
}
