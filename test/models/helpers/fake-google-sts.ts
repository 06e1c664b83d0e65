import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** Google's STS token endpoint, for workload identity federation: answers one access token. */
export class FakeTokenEndpoint {
  readonly seen: URLSearchParams[] = [];
  private server?: Server;
  url = '';
  async start(): Promise<this> {
    this.server = createServer(async (req: IncomingMessage, res) => {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      this.seen.push(new URLSearchParams(raw));
      if (req.url === '/v1/refuse') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ error: 'invalid_grant', error_description: 'The subject token is expired.' }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          access_token: 'ya29.fake-vertex-token',
          issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          token_type: 'Bearer',
          expires_in: 3600,
        }),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }
  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

/**
 * Writes Application Default Credentials in `dir` as a workload identity federation file named
 * `name`: the library trades the subject token (a file beside it) for an access token at `tokenUrl`.
 */
export function writeFederationCredentials(dir: string, name: string, tokenUrl: string): string {
  writeFileSync(join(dir, 'subject-token'), 'subject-jwt-from-the-platform');
  const file = join(dir, name);
  writeFileSync(
    file,
    JSON.stringify({
      type: 'external_account',
      audience: '//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p/providers/q',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: tokenUrl,
      credential_source: { file: join(dir, 'subject-token') },
    }),
  );
  return file;
}
