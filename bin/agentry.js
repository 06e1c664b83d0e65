#!/usr/bin/env node
// The `agentry` command. It runs the compiled output in dist/ (scripts/build.mjs; `npm install`
// builds it as the `prepare` script), and compiles it again first when a source is newer, so an
// edited checkout never runs stale code. Compiling ~200 modules at every start instead (as
// bin/ts-loader.js does for the tests) made `agentry --version` ten times a bare `node -e 0`.

import { build, entry, isStale } from '../scripts/build.mjs';

if (isStale()) await build();
// The server also serves the web console: rebuilt here when its sources are newer (a checkout only).
if (process.argv[2] === 'serve') {
  const { buildWeb, isWebStale } = await import('../scripts/build-web.mjs');
  if (isWebStale()) await buildWeb();
}
process.setSourceMapsEnabled(true);
await import(new URL(`file://${entry}`).href);
