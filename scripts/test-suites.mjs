// Which test files `npm test` runs and which only `npm run test:heavy` runs (CI runs both).

/**
 * The heavy suites: the protocols' conformance runners, chaos (processes killed with SIGKILL, stores
 * stopped under load), load and route fuzzing. They are a third of the suite's time, almost all of it
 * waiting on processes that start, die and take over, and they test what a change seldom touches: a
 * contributor's `npm test` leaves them out and names them at its end.
 */
export const heavySuites = [
  { path: 'test/conformance/', what: 'the A2A TCK (python)' },
  { path: 'test/interop/mcp-conformance.test.ts', what: 'the MCP conformance runner' },
  { path: 'test/chaos/', what: 'chaos: SIGKILLs and store outages under load' },
  { path: 'test/runtime/durable.test.ts', what: 'runs carried on after SIGKILL' },
  { path: 'test/tasks/reliability.test.ts', what: 'tasks through worker crashes' },
  { path: 'test/eval/experiment-restart.test.ts', what: 'experiments through SIGKILL' },
  { path: 'test/cli/store-lock.test.ts', what: 'the data directory lock across processes' },
  { path: 'test/http/fuzz.test.ts', what: 'route fuzzing' },
  { path: 'test/compat/soma-load.test.ts', what: '`npm run load`' },
];

export const isHeavy = (file) => heavySuites.some((s) => file.startsWith(s.path));

/**
 * The web console's suites, which drive the built console in Chromium. `.ci/run` runs them once, on
 * the machine's Node (`--without-console` on its second pass): what they test is the console's pages
 * and the browser, and the routes they call run on both Nodes in the API suites.
 */
export const consoleSuites = 'test/console/';
