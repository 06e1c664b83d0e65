#!/usr/bin/env node
// The `agentry` command. Agentry ships its TypeScript sources and runs them through tsx's loader,
// so there is no build step between a checkout and a running server.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
