import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import type { Agent, Template } from '../agents/schema.ts';
import type { IngestResult, KnowledgeBase } from '../memory/schema.ts';
import { resolveAgent } from './agents.ts';
import { ApiClient, CliError, type ClientOptions, withClientOptions } from './client.ts';
import { action } from './fail.ts';
import { countIngested, formatSummary, type IngestSummary, planIngest } from './kb.ts';
import { formatTable, print } from './output.ts';
// pack-file.ts (zod, YAML, the agent schema) loads when a packs command runs, not at every CLI start.
import type { Pack } from './pack-file.ts';

/** The knowledge base a pack installs for one of its kinds. */
const packKbName = (pack: Pick<Pack, 'name'>, kind: string) => `${pack.name}-${kind}`;

type Status = 'created' | 'updated' | 'unchanged';

export interface InstallReport {
  pack: string;
  knowledge_bases: Array<IngestSummary & { id: string; kind: string; status: 'created' | 'existing' }>;
  template: { id: string; name: string; status: Status };
  agent: { id: string; name: string; status: Status };
}

async function allKbs(client: ApiClient): Promise<KnowledgeBase[]> {
  const out: KnowledgeBase[] = [];
  for await (const kb of client.list<KnowledgeBase>('/v1/knowledge-bases')) out.push(kb);
  return out;
}

/** Ingests every file of a folder; the server leaves unchanged files alone (content hash). */
async function ingestFolder(client: ApiClient, kb: KnowledgeBase, root: string): Promise<IngestSummary> {
  const { files, summary } = await planIngest(kb.name, root);
  const { formatOfName } = await import('../memory/formats.ts');
  for (const file of files) {
    const format = formatOfName(file);
    if (!format || format === 'pdf') {
      summary.skipped.push({ file, reason: `unsupported type in a pack (${path.extname(file) || 'none'})` });
      continue;
    }
    const content = await readFile(path.join(root, file), 'utf8');
    if (content.length === 0) {
      summary.skipped.push({ file, reason: 'empty' });
      continue;
    }
    const source = file.split(path.sep).join('/');
    const res = await client.request<IngestResult>('POST', `/v1/knowledge-bases/${kb.id}/documents`, {
      body: { source, format, content },
    });
    countIngested(summary, res);
  }
  return summary;
}

/** The tenant template named like the pack's: created when missing, brought up to date when it differs. */
async function installTemplate(client: ApiClient, pack: Pack): Promise<InstallReport['template']> {
  const { data } = await client.get<{ data: Template[] }>('/v1/templates');
  const existing = data.find((t) => !t.builtin && t.name === pack.template.name);
  if (!existing) {
    const t = await client.request<Template>('POST', '/v1/templates', { body: pack.template });
    return { id: t.id, name: t.name, status: 'created' };
  }
  const changed = Object.fromEntries(
    Object.entries(pack.template).filter(
      ([k, v]) => JSON.stringify(v) !== JSON.stringify(existing[k as keyof Template]),
    ),
  );
  if (Object.keys(changed).length === 0) return { id: existing.id, name: existing.name, status: 'unchanged' };
  await client.request('PATCH', `/v1/templates/${existing.id}`, { body: changed });
  return { id: existing.id, name: existing.name, status: 'updated' };
}

/**
 * The pack's agent: created from the template and bound to the pack's knowledge bases when missing;
 * an existing agent keeps its own settings and only gains the bindings it lacks.
 */
async function installAgent(
  client: ApiClient,
  name: string,
  templateId: string,
  knowledge: string[],
): Promise<InstallReport['agent']> {
  let agent: Agent | undefined;
  try {
    agent = await resolveAgent(client, name);
  } catch (err) {
    if (!(err instanceof CliError && err.status === 404)) throw err;
  }
  if (!agent) {
    const a = await client.request<Agent>('POST', '/v1/agents', {
      body: { name, template_id: templateId, knowledge },
    });
    return { id: a.id, name: a.name, status: 'created' };
  }
  const missing = knowledge.filter((k) => !agent.knowledge.includes(k));
  if (missing.length === 0) return { id: agent.id, name: agent.name, status: 'unchanged' };
  await client.request('PATCH', `/v1/agents/${agent.id}`, {
    body: { knowledge: [...agent.knowledge, ...missing] },
  });
  return { id: agent.id, name: agent.name, status: 'updated' };
}

/** Installs a pack through the API. Running it again changes nothing unless the pack's files changed. */
export async function installPack(
  client: ApiClient,
  pack: Pack,
  agentName = pack.agent,
): Promise<InstallReport> {
  const existing = await allKbs(client);
  const knowledgeBases: InstallReport['knowledge_bases'] = [];
  for (const k of pack.knowledge) {
    const name = packKbName(pack, k.kind);
    let kb = existing.find((x) => x.name === name);
    if (kb && kb.kind !== k.kind) {
      throw new CliError(`knowledge base ${name} already exists with kind ${kb.kind}, not ${k.kind}`);
    }
    const status = kb ? 'existing' : 'created';
    kb ??= await client.request<KnowledgeBase>('POST', '/v1/knowledge-bases', {
      body: { name, kind: k.kind, description: k.description },
    });
    const summary = await ingestFolder(client, kb, path.resolve(pack.dir, k.folder));
    knowledgeBases.push({ ...summary, id: kb.id, kind: k.kind, status });
  }
  const template = await installTemplate(client, pack);
  const knowledge = knowledgeBases.map((k) => k.knowledge_base);
  const agent = await installAgent(client, agentName, template.id, knowledge);
  return { pack: pack.name, knowledge_bases: knowledgeBases, template, agent };
}

function formatReport(r: InstallReport): string {
  return [
    `pack ${r.pack}`,
    ...r.knowledge_bases.map((k) => `  ${k.kind} (${k.status}) ${formatSummary(k).trimEnd()}`),
    `  template "${r.template.name}" ${r.template.status} (${r.template.id})`,
    `  agent ${r.agent.name} ${r.agent.status} (${r.agent.id})`,
    '',
  ].join('\n');
}

/** `agentry packs …`: the template packs shipped in examples/ (or any pack folder). */
export function packsCommand(): Command {
  const packs = new Command('packs').description('Template packs: an agent, its template and its knowledge');

  packs.addCommand(
    new Command('list')
      .description('The packs shipped with Agentry')
      .option('--json', 'print JSON')
      .action(
        action(async (options: { json?: boolean }) => {
          const { loadPack, shippedPacks } = await import('./pack-file.ts');
          const rows = shippedPacks().map((name) => {
            const p = loadPack(name);
            return { name, agent: p.agent, description: p.description };
          });
          print(options.json, rows, () =>
            formatTable(rows, [
              { header: 'name', value: (p) => p.name },
              { header: 'agent', value: (p) => p.agent },
              { header: 'description', value: (p) => p.description, max: 80 },
            ]),
          );
        }),
      ),
  );

  packs.addCommand(
    withClientOptions(
      new Command('install')
        .description(
          'Create the knowledge bases of a pack (persona, domain, tools, …), ingest its files, create its ' +
            'template and the agent bound to those knowledge bases; unchanged parts are left as they are',
        )
        .argument('<pack>', 'a shipped pack name (see `agentry packs list`) or a folder with a pack.yaml')
        .option('--agent-name <name>', 'name the agent differently from the pack'),
    ).action(
      action(async (ref: string, options: ClientOptions & { agentName?: string }) => {
        const { loadPack } = await import('./pack-file.ts');
        const report = await installPack(ApiClient.from(options), loadPack(ref), options.agentName);
        print(options.json, report, () => formatReport(report));
      }),
    ),
  );
  return packs;
}
