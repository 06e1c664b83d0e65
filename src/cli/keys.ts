import { Command } from 'commander';
import { ApiClient, type ClientOptions, withClientOptions } from './client.ts';
import { action } from './fail.ts';
import { type Column, formatRecord, formatTable, print, shortTime } from './output.ts';

export interface ApiKey {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: string;
  revoked_at: string | null;
}

const columns: Column<ApiKey>[] = [
  { header: 'id', value: (k) => k.id },
  { header: 'name', value: (k) => k.name, max: 30 },
  { header: 'prefix', value: (k) => k.prefix },
  { header: 'scopes', value: (k) => k.scopes },
  { header: 'created', value: (k) => shortTime(k.created_at) },
  { header: 'revoked', value: (k) => shortTime(k.revoked_at) },
];

/** The one time a secret is shown: people get it set apart with a warning, scripts get the JSON. */
export function formatNewKey(key: ApiKey & { secret: string }, what = 'API key'): string {
  const fields = formatRecord([
    ['id', key.id],
    ['name', key.name],
    ['tenant', key.tenant_id],
    ['scopes', key.scopes],
  ]);
  return `${fields}\n${what} (shown only this once; store it now):\n\n  ${key.secret}\n\n`;
}

const scopeList = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const tenantOption = '--tenant <tenant>';
const tenantHelp = "another tenant's id or name (admins of the default tenant only)";

export function keysCommand(): Command {
  const keys = new Command('keys').description('Manage API keys (admin)');

  keys.addCommand(
    withClientOptions(
      new Command('create')
        .description('Create an API key; its secret is printed once')
        .requiredOption(
          '--scopes <list>',
          'comma-separated: read, write, admin, metrics (only /metrics), feedback (only posting scores)',
          scopeList,
        )
        .option('--name <name>', 'a label to recognise the key by')
        .option(tenantOption, tenantHelp),
    ).action(
      action(async (opts: ClientOptions & { scopes: string[]; name?: string; tenant?: string }) => {
        const key = await ApiClient.from(opts).request<ApiKey & { secret: string }>('POST', '/v1/keys', {
          body: { scopes: opts.scopes, name: opts.name, tenant: opts.tenant },
        });
        print(opts.json, key, () => formatNewKey(key));
      }),
    ),
  );

  keys.addCommand(
    withClientOptions(
      new Command('list')
        .description('List API keys (secrets are never shown again)')
        .option(tenantOption, tenantHelp),
    ).action(
      action(async (opts: ClientOptions & { tenant?: string }) => {
        // Every key, page by page: an operator listing keys wants them all, not the first page.
        const data: ApiKey[] = [];
        for await (const k of ApiClient.from(opts).list<ApiKey>('/v1/keys', { tenant: opts.tenant }))
          data.push(k);
        const page = { data };
        print(opts.json, page, () => formatTable(page.data, columns));
      }),
    ),
  );

  keys.addCommand(
    withClientOptions(
      new Command('revoke')
        .description('Revoke an API key')
        .argument('<id>', 'key id (see "agentry keys list")')
        .option(tenantOption, tenantHelp),
    ).action(
      action(async (id: string, opts: ClientOptions & { tenant?: string }) => {
        const key = await ApiClient.from(opts).request<ApiKey>(
          'POST',
          `/v1/keys/${encodeURIComponent(id)}/revoke`,
          { query: { tenant: opts.tenant } },
        );
        print(opts.json, key, () => `revoked API key ${key.prefix} (${key.id})\n`);
      }),
    ),
  );

  return keys;
}
