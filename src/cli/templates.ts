import { Command } from 'commander';
import type { Template } from '../agents/schema.ts';
import { ApiClient, type ClientOptions, withClientOptions } from './client.ts';
import { action } from './fail.ts';
import { type Column, formatTable, print } from './output.ts';

const columns: Column<Template>[] = [
  { header: 'id', value: (t) => t.id },
  { header: 'name', value: (t) => t.name, max: 30 },
  { header: 'kind', value: (t) => (t.builtin ? 'builtin' : 'tenant') },
  { header: 'mode', value: (t) => t.mode },
  { header: 'tools', value: (t) => t.tools, max: 50 },
  { header: 'skills', value: (t) => t.skills, max: 30 },
];

export function templatesCommand(): Command {
  const templates = new Command('templates').description('Browse agent templates');

  templates.addCommand(
    withClientOptions(
      new Command('list').description("List the built-in templates and, with a key, the tenant's own"),
    ).action(
      action(async (opts: ClientOptions) => {
        // Public endpoint: without a key the server lists the built-in templates only.
        const page = await ApiClient.from(opts).get<{ data: Template[] }>('/v1/templates', { auth: false });
        print(opts.json, page, () => formatTable(page.data, columns));
      }),
    ),
  );

  return templates;
}
