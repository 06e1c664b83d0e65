import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import type { Deployment } from '../agents/local-dev/schema.ts';
import type { Agent } from '../agents/schema.ts';
import { resolveAgent } from './agents.ts';
import { ApiClient, CliError, type ClientOptions, withClientOptions } from './client.ts';
import { action } from './fail.ts';
import { formatRecord, print } from './output.ts';

/** `.agentry/config.json` of an agent project (`agentry scaffold` writes it). */
interface ProjectConfig {
  agent: string;
  entry: string;
}

interface DeployFlags extends ClientOptions {
  agent?: string;
}

function readProject(dir: string): ProjectConfig {
  const file = path.join(dir, '.agentry', 'config.json');
  if (!existsSync(file))
    throw new CliError(`${file} not found: is ${dir} an agent project? (agentry scaffold <name> makes one)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  // Checked by hand: zod would load at every CLI start for this one small file.
  const { agent, entry = 'src/agent.ts' } = (parsed ?? {}) as Partial<Record<keyof ProjectConfig, unknown>>;
  if (typeof agent !== 'string' || agent === '')
    throw new CliError(`${file}: "agent" must be a non-empty string`);
  if (typeof entry !== 'string' || entry === '')
    throw new CliError(`${file}: "entry" must be a non-empty string`);
  return { agent, entry };
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
