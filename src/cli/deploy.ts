import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import type { Deployment } from '../agents/local-dev/schema.ts';
import type { Agent } from '../agents/schema.ts';
import { resolveAgent } from './agents.ts';
import { ApiClient, CliError, type ClientOptions, withClientOptions } from './client.ts';
import { action } from './fail.ts';
import { formatRecord, print } from './output.ts';

const projectConfig = z.object({
  agent: z.string().min(1),
  entry: z.string().min(1).default('src/agent.ts'),
});

interface DeployFlags extends ClientOptions {
  agent?: string;
}

function readProject(dir: string): z.infer<typeof projectConfig> {
  const file = path.join(dir, '.agentry', 'config.json');
  if (!existsSync(file))
    throw new CliError(`${file} not found: is ${dir} an agent project? (agentry scaffold <name> makes one)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const result = projectConfig.safeParse(parsed);
  if (!result.success) throw new CliError(`${file}: ${z.prettifyError(result.error)}`);
  return result.data;
}

/** The project's agent; created as a local-dev agent (env pool) the first time. */
async function agentFor(client: ApiClient, name: string): Promise<Agent> {
  try {
    return await resolveAgent(client, name);
  } catch (err) {
    if (!(err instanceof CliError && err.status === 404)) throw err;
    process.stderr.write(`creating local-dev agent ${name}\n`);
    return (await client.request<{ agent: Agent }>('POST', '/v1/agents/local-dev', { body: { name } })).agent;
  }
}

/**
 * `agentry deploy [dir]`: bundles the project's entry (src/agent.ts) with esbuild into one ES
 * module and uploads it as the agent's next version. A build error stops here; a bundle the server
 * cannot load is refused (422) and the previous version keeps serving.
 */
export function deployCommand(): Command {
  return withClientOptions(
    new Command('deploy')
      .description('Build a local-dev agent project and deploy it as a new version')
      .argument('[dir]', 'the project folder (with .agentry/config.json)', '.')
      .option(
        '--agent <agent>',
        'deploy to this agent (id or name) instead of the one in .agentry/config.json',
      ),
  ).action(
    action(async (dir: string, opts: DeployFlags) => {
      const root = path.resolve(dir);
      const project = readProject(root);
      const entry = path.resolve(root, project.entry);
      if (!existsSync(entry)) throw new CliError(`entry ${entry} not found (.agentry/config.json "entry")`);
      // The bundler (esbuild) loads here, not with the command tree: every other command would pay for it.
      const { BundleBuildError, bundleAgent } = await import('../agents/local-dev/bundle.ts');
      let bundle: string;
      try {
        bundle = await bundleAgent(entry);
      } catch (err) {
        if (err instanceof BundleBuildError) throw new CliError(`build failed:\n${err.message}`);
        throw err;
      }
      const client = ApiClient.from(opts);
      const agent = await agentFor(client, opts.agent ?? project.agent);
      const deployment = await client.request<Deployment>('POST', `/v1/agents/${agent.id}/deployments`, {
        body: { bundle },
      });
      print(opts.json, deployment, () =>
        formatRecord([
          ['agent', `${agent.name} (${agent.id})`],
          ['version', deployment.version],
          ['size', `${deployment.size_bytes} bytes`],
          ['sha256', deployment.sha256],
        ]),
      );
    }),
  );
}
