#!/usr/bin/env node
// The `agentry` command. It runs the compiled output in dist/ (scripts/build.mjs; `npm install`
// builds it as the `prepare` script), and compiles it again first when a source is newer, so an
// edited checkout never runs stale code. Compiling ~200 modules at every start instead (as
// bin/ts-loader.js does for the tests) made `agentry --version` ten times a bare `node -e 0`.

import module from 'node:module';

// Node 22.1+ keeps the compiled code of the modules a start loads (dist/ and node_modules) in a
// cache on disk (the system's temp dir, keyed by each file's content), so a later start parses and
// compiles less: ~8% off a later `agentry serve` on Node 24 (docs/performance.md). First, before the
// imports below, which it covers. Node 20 has no such cache and skips it.
module.enableCompileCache?.();
const { build, entry, isStale } = await import('../scripts/build.mjs');

if (isStale()) await build();
// The server also serves the web console: rebuilt here when its sources are newer (a checkout only).
if (process.argv[2] === 'serve') {
  const { buildWeb, isWebStale } = await import('../scripts/build-web.mjs');
  if (isWebStale()) await buildWeb();
}
process.setSourceMapsEnabled(true);
await import(new URL(`file://${entry}`).href);
