import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { CliError } from './client.ts';
import { action } from './fail.ts';

/** `agentry scaffold <name> [dir]`: writes the local-dev agent project GET /v1/agents/scaffold serves. */
export function scaffoldCommand(): Command {
  return new Command('scaffold')
    .description('Write a TypeScript local-dev agent project (handle(input, ctx)) to a new folder')
    .argument('<name>', 'the agent name (letters, digits, "_", "." and "-")')
    .argument('[dir]', 'where to write it (default: ./<name>)')
    .action(
      action(async (name: string, dir: string | undefined) => {
        const { agentName } = await import('../agents/schema.ts');
        if (!agentName.safeParse(name).success)
          throw new CliError(`invalid agent name "${name}": letters, digits, "_", "." and "-", at most 64`);
        const target = path.resolve(dir ?? name);
        if (existsSync(target) && readdirSync(target).length > 0)
          throw new CliError(`${target} exists and is not empty: pick another folder`);
        // Loaded here, not with the command tree: it brings the zip library every command would load.
        const { scaffoldFiles } = await import('../agents/local-dev/scaffold.ts');
        const files = scaffoldFiles(name);
        for (const [rel, bytes] of files) {
          const file = path.join(target, ...rel.split('/'));
          mkdirSync(path.dirname(file), { recursive: true });
          writeFileSync(file, bytes);
        }
        // Paths relative to here: the deploy runs where agentry is installed, not inside the project.
        const shown = path.relative(process.cwd(), target) || '.';
        process.stdout.write(
          `wrote ${files.size} files to ${target}\n` +
            `next: edit ${path.join(shown, 'src', 'agent.ts')}, then run: agentry deploy ${shown}\n`,
        );
      }),
    );
}
