import { Command } from 'commander';
import { ApiClient, type ClientOptions, withClientOptions } from './client.ts';
import { action } from './fail.ts';
import { type ApiKey, formatNewKey } from './keys.ts';
import { type Column, formatTable, print, shortTime } from './output.ts';

interface Tenant {
  id: string;
  name: string;
  created_at: string;
}

const columns: Column<Tenant>[] = [
  { header: 'id', value: (t) => t.id },
  { header: 'name', value: (t) => t.name },
  { header: 'created', value: (t) => shortTime(t.created_at) },
];

export function tenantsCommand(): Command {
  const tenants = new Command('tenants').description('Manage tenants (admins of the default tenant)');

  tenants.addCommand(
    withClientOptions(
      new Command('create')
        .description("Create a tenant and its first admin key; the key's secret is printed once")
        .argument('<name>', 'lowercase letters, digits, "_" and "-"'),
    ).action(
      action(async (name: string, opts: ClientOptions) => {
        const created = await ApiClient.from(opts).request<{
          tenant: Tenant;
          admin_key: ApiKey & { secret: string };
        }>('POST', '/v1/tenants', { body: { name } });
        print(
          opts.json,
          created,
          () =>
            `created tenant ${created.tenant.name} (${created.tenant.id})\n\n` +
            formatNewKey(created.admin_key, `Admin key of ${created.tenant.name}`),
        );
      }),
    ),
  );

  tenants.addCommand(
    withClientOptions(new Command('list').description('List tenants')).action(
      action(async (opts: ClientOptions) => {
        const data: Tenant[] = [];
        for await (const t of ApiClient.from(opts).list<Tenant>('/v1/tenants')) data.push(t);
        const page = { data };
        print(opts.json, page, () => formatTable(page.data, columns));
      }),
    ),
  );

  return tenants;
}
