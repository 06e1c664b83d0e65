import { buildCli } from './cli/index.ts';

const program = buildCli();
await program.parseAsync(process.argv);
