/**
 * The console's pages, in the order of the left navigation: the ONE list the router (app/App.tsx)
 * and the server's fallback (src/http/console.ts, which answers index.html at each path and below
 * it) both read. A page is `web/src/features/<feature>/index.ts`, whose default export is the page;
 * it owns every path under its own (`/runs/:id`, `/tasks/new`, …). Plain data: the server imports it.
 */
export const pages = [
  { path: '/', label: 'Overview', feature: 'overview' },
  { path: '/agents', label: 'Agents', feature: 'agents' },
  { path: '/playground', label: 'Playground', feature: 'playground' },
  { path: '/teams', label: 'Teams', feature: 'teams' },
  { path: '/tasks', label: 'Tasks', feature: 'tasks' },
  { path: '/runs', label: 'Runs', feature: 'runs' },
  { path: '/datasets', label: 'Datasets', feature: 'datasets' },
  { path: '/experiments', label: 'Experiments', feature: 'experiments' },
  { path: '/evaluators', label: 'Evaluators', feature: 'evaluators' },
  { path: '/score-configs', label: 'Score configs', feature: 'score-configs' },
  { path: '/review', label: 'Review', feature: 'review' },
  { path: '/knowledge', label: 'Knowledge', feature: 'knowledge' },
  { path: '/usage', label: 'Usage', feature: 'usage' },
  { path: '/settings', label: 'Settings', feature: 'settings' },
] as const satisfies readonly { path: `/${string}`; label: string; feature: string }[];

export type Page = (typeof pages)[number];
