#!/usr/bin/env node
// The `agentry` command. Agentry ships its TypeScript sources and compiles each module as it loads
// (ts-loader.js), so there is no build step between a checkout and a running server.
import './ts-loader.js';

await import('../src/main.ts');
