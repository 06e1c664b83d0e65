import { Command } from 'commander';
import { ApiClient, type ClientOptions, withClientOptions } from './client.ts';
import { action } from './fail.ts';
import { print } from './output.ts';

/** `agentry console`: a fresh one-time sign-in link for a running server (an admin key of its default tenant asks for it). */
export function consoleCommand(): Command {
  return withClientOptions(new Command('console'))
    .description("Print a new one-time sign-in link to the running server's web console")
    .action(
      action(async (opts: ClientOptions) => {
        const client = ApiClient.from(opts);
        const link = await client.request<{ path: string; expires_at: string }>(
          'POST',
          '/v1/auth/sign-in-links',
        );
        const url = `${client.target.url}${link.path}`;
        print(
          opts.json,
          { url, expires_at: link.expires_at },
          () => `${url}\n(one-time; valid until ${link.expires_at})`,
        );
      }),
    );
}
