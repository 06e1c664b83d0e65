import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { Agent } from '../agents/schema.ts';
import type { AgentVersion } from '../agents/version-schema.ts';
import type { Page } from '../db/page.ts';
import { ApiClient, CliError, type ClientOptions, withClientOptions } from './client.ts';
import { action } from './fail.ts';
import { labelCommand } from './labels.ts';
import { type Column, formatRecord, formatTable, print, shortTime } from './output.ts';

const columns: Column<Agent>[] = [
  { header: 'id', value: (a) => a.id },
  { header: 'name', value: (a) => a.name, max: 40 },
  { header: 'model', value: (a) => a.model, max: 30 },
  { header: 'mode', value: (a) => a.mode },
  { header: 'source', value: (a) => a.source },
  { header: 'version', value: (a) => a.version },
  { header: 'updated', value: (a) => shortTime(a.updated_at) },
];

const versionColumns: Column<AgentVersion>[] = [
  { header: 'version', value: (v) => v.version },
  { header: 'author', value: (v) => v.author, max: 30 },
  { header: 'when', value: (v) => shortTime(v.created_at) },
  { header: 'model', value: (v) => v.config.model, max: 30 },
  { header: 'message', value: (v) => v.message ?? '', max: 50 },
];

export const formatAgent = (a: Agent) =>
  formatRecord([
    ['id', a.id],
    ['name', a.name],
    ['description', a.description],
    ['model', a.model],
    ['mode', a.mode],
    ['env', a.env],
    ['tools', a.tools],
    ['skills', a.skills],
    ['knowledge', a.knowledge],
    ['task types', a.task_types.map((t) => t.name)],
    ['handoffs', a.handoffs],
    ['visibility', a.visibility],
    ['source', a.source],
    ['template', a.template_id],
    ['version', a.version],
    ['created', a.created_at],
    ['updated', a.updated_at],
    ['system prompt', a.system_prompt],
  ]);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Finds the agent with exactly this name; the list filter matches substrings, so it pages to be sure. */
async function findByName(client: ApiClient, name: string): Promise<Agent | undefined> {
  for await (const a of client.list<Agent>('/v1/agents', { name })) if (a.name === name) return a;
  return undefined;
}

/**
 * An agent by id or by name. A UUID-shaped argument is tried as an id first, then as a name, since
 * agent names may look like UUIDs too.
 */
export async function resolveAgent(client: ApiClient, ref: string): Promise<Agent> {
  if (UUID.test(ref)) {
    try {
      return await client.get<Agent>(`/v1/agents/${ref}`);
    } catch (err) {
      if (!(err instanceof CliError && err.status === 404)) throw err;
      const byName = await findByName(client, ref);
      if (byName) return byName;
      throw err;
    }
  }
  const found = await findByName(client, ref);
  if (!found) throw new CliError(`no agent named "${ref}" (HTTP 404 not_found)`, 404, 'not_found');
  return found;
}

interface FieldFlags {
  name?: string;
  description?: string;
  model?: string;
  systemPrompt?: string;
  template?: string;
  mode?: string;
  env?: string;
  tools?: string[];
  skills?: string[];
  file?: string;
  message?: string;
}

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function withFieldFlags(command: Command, { create }: { create: boolean }): Command {
  command
    .option('--name <name>', create ? 'agent name (unique in the tenant)' : 'new name')
    .option('--description <text>', 'what the agent is for')
    .option('--model <model>', 'model, e.g. mock/default or openai/gpt-4o-mini')
    .option('--system-prompt <text>', 'system prompt');
  if (create) command.option('--template <id>', 'start from a template (its prompt, tools, skills, mode)');
  return command
    .option('--mode <mode>', 'REACTIVE or COLLABORATIVE')
    .option('--env <env>', 'in_process, cloud_shared, cloud_pool, pool, remote, multi_agent or a2a')
    .option('--tools <list>', 'comma-separated tool names ("" for none)', list)
    .option('--skills <list>', 'comma-separated skill names ("" for none)', list)
    .option('--file <config.json>', 'a JSON agent config; flags given as well override its fields')
    .option('--message <text>', 'a note kept with the version this change makes');
}

/** The request body: the file's fields, then every flag actually given. Absent flags send nothing. */
export function bodyFromFlags(flags: FieldFlags): Record<string, unknown> {
  let body: Record<string, unknown> = {};
  if (flags.file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(flags.file, 'utf8'));
    } catch (err) {
      throw new CliError(`cannot read ${flags.file}: ${(err as Error).message}`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new CliError(`${flags.file} must hold a JSON object with agent fields`);
    }
    body = { ...parsed };
  }
  const given: Record<string, unknown> = {
    name: flags.name,
    description: flags.description,
    model: flags.model,
    system_prompt: flags.systemPrompt,
    template_id: flags.template,
    // People type "collaborative"; the API spells modes in capitals.
    mode: flags.mode?.toUpperCase(),
    env: flags.env,
    tools: flags.tools,
    skills: flags.skills,
  };
  for (const [k, v] of Object.entries(given)) if (v !== undefined) body[k] = v;
  return body;
}

type ListFlags = ClientOptions & { name?: string; source?: string; limit?: string; offset?: string };

export function agentsCommand(): Command {
  const agents = new Command('agents').description('Manage agent configs');

  agents.addCommand(
    withClientOptions(
      new Command('list')
        .description('List agents')
        .option('--name <text>', 'only names containing this text (case-insensitive)')
        .option('--source <source>', 'only agents of this source: basic, template, generated or local')
        .option('--limit <n>', 'at most this many (1-500, default 50)')
        .option('--offset <n>', 'skip this many'),
    ).action(
      action(async (opts: ListFlags) => {
        const client = ApiClient.from(opts);
        const page = await client.get<Page<Agent>>('/v1/agents', {
          query: { name: opts.name, source: opts.source, limit: opts.limit, offset: opts.offset },
        });
        print(opts.json, page, () => formatTable(page.data, columns));
        if (!opts.json && page.offset + page.data.length < page.total) {
          process.stderr.write(
            `showing ${page.offset + 1}-${page.offset + page.data.length} of ${page.total}; ` +
              'use --offset and --limit for more\n',
          );
        }
      }),
    ),
  );

  agents.addCommand(
    withClientOptions(
      new Command('get').description('Show one agent').argument('<agent>', 'agent id or name'),
    ).action(
      action(async (ref: string, opts: ClientOptions) => {
        const agent = await resolveAgent(ApiClient.from(opts), ref);
        print(opts.json, agent, () => formatAgent(agent));
      }),
    ),
  );

  agents.addCommand(
    withClientOptions(
      withFieldFlags(new Command('create').description('Create an agent from flags and/or a JSON file'), {
        create: true,
      }),
    ).action(
      action(async (opts: ClientOptions & FieldFlags) => {
        const body = bodyFromFlags(opts);
        if (body.name === undefined)
          throw new CliError('an agent needs a name: pass --name or put it in --file');
        if (opts.message !== undefined) body.version_message = opts.message;
        const agent = await ApiClient.from(opts).request<Agent>('POST', '/v1/agents', { body });
        print(opts.json, agent, () => formatAgent(agent));
      }),
    ),
  );

  agents.addCommand(
    withClientOptions(
      withFieldFlags(
        new Command('update')
          .description('Change the given fields of an agent; the others stay as they are')
          .argument('<agent>', 'agent id or name'),
        { create: false },
      ),
    ).action(
      action(async (ref: string, opts: ClientOptions & FieldFlags) => {
        const body = bodyFromFlags(opts);
        if (Object.keys(body).length === 0) {
          throw new CliError('nothing to change: give at least one field flag or --file');
        }
        if (opts.message !== undefined) body.version_message = opts.message;
        const client = ApiClient.from(opts);
        const { id } = await resolveAgent(client, ref);
        const agent = await client.request<Agent>('PATCH', `/v1/agents/${id}`, { body });
        print(opts.json, agent, () => formatAgent(agent));
      }),
    ),
  );

  agents.addCommand(
    withClientOptions(
      new Command('versions')
        .description("An agent's versions, newest first")
        .argument('<agent>', 'agent id or name'),
    ).action(
      action(async (ref: string, opts: ClientOptions) => {
        const client = ApiClient.from(opts);
        const { id } = await resolveAgent(client, ref);
        const versions: AgentVersion[] = [];
        for await (const v of client.list<AgentVersion>(`/v1/agents/${id}/versions`, {})) versions.push(v);
        print(opts.json, versions, () => formatTable(versions, versionColumns));
      }),
    ),
  );

  agents.addCommand(
    withClientOptions(
      new Command('rollback')
        .description('Make a new version of an agent equal to an older one')
        .argument('<agent>', 'agent id or name')
        .argument('<version>', 'the version to go back to')
        .option('--message <text>', 'a note kept with the new version'),
    ).action(
      action(async (ref: string, version: string, opts: ClientOptions & { message?: string }) => {
        const client = ApiClient.from(opts);
        const { id } = await resolveAgent(client, ref);
        const body = opts.message === undefined ? {} : { message: opts.message };
        const agent = await client.request<Agent>('POST', `/v1/agents/${id}/versions/${version}/rollback`, {
          body,
        });
        print(opts.json, agent, () => formatAgent(agent));
      }),
    ),
  );

  agents.addCommand(
    withClientOptions(
      new Command('delete').description('Delete an agent').argument('<agent>', 'agent id or name'),
    ).action(
      action(async (ref: string, opts: ClientOptions) => {
        const client = ApiClient.from(opts);
        const agent = await resolveAgent(client, ref);
        await client.request('DELETE', `/v1/agents/${agent.id}`);
        print(opts.json, { id: agent.id, name: agent.name, deleted: true }, () => {
          return `deleted agent ${agent.name} (${agent.id})\n`;
        });
      }),
    ),
  );

  agents.addCommand(labelCommand());

  return agents;
}
