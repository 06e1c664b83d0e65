import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { tenantPolicySchema } from '../../src/config/tenant-policy.ts';
import { credentialHeaders, domainMatches, egressRefusal } from '../../src/tools/sandbox/egress-allow.ts';

const policy = (network: Record<string, unknown>) => tenantPolicySchema.parse({ network });

describe('egress allowlist rules', () => {
  it('matches exact hosts, and subdomains only through *.', () => {
    assert.equal(domainMatches('example.com', 'example.com'), true);
    assert.equal(domainMatches('Example.COM.', 'example.com'), true);
    assert.equal(domainMatches('example.com', 'api.example.com'), false);
    assert.equal(domainMatches('*.example.com', 'api.example.com'), true);
    assert.equal(domainMatches('*.example.com', 'a.b.example.com'), true);
    assert.equal(domainMatches('*.example.com', 'example.com'), false);
    assert.equal(domainMatches('*.example.com', 'badexample.com'), false);
  });

  it('refuses what is not listed, other schemes, and private addresses unless allowed', () => {
    const p = policy({ egress_allow: ['example.com', '10.0.0.5'] });
    assert.equal(egressRefusal(p, new URL('https://example.com/x')), undefined);
    assert.match(
      egressRefusal(p, new URL('https://example.org/'))!,
      /example\.org is not in this tenant's egress allowlist/,
    );
    assert.match(egressRefusal(p, new URL('ftp://example.com/'))!, /ftp: is not http or https/);
    assert.match(egressRefusal(p, new URL('http://10.0.0.5/'))!, /not a public address/);
    const open = policy({ egress_allow: ['10.0.0.5'], allow_private_egress: true });
    assert.equal(egressRefusal(open, new URL('http://10.0.0.5/')), undefined);
    assert.match(egressRefusal(policy({}), new URL('https://example.com/'))!, /no egress allowlist/);
  });

  it("allows the search endpoint's host implicitly", () => {
    const p = policy({ search: { url: 'https://search.example.net/api' } });
    assert.equal(egressRefusal(p, new URL('https://search.example.net/api?q=x')), undefined);
    assert.match(egressRefusal(p, new URL('https://example.net/'))!, /not in this tenant's egress allowlist/);
  });

  it('injects credentials for their domain only, from the environment or a file', () => {
    process.env.AGENTRY_TEST_EGRESS_TOKEN = 'tok-1';
    const p = policy({
      egress_allow: ['*.example.com'],
      credentials: [{ domain: 'api.example.com', prefix: 'Bearer ', env: 'AGENTRY_TEST_EGRESS_TOKEN' }],
    });
    assert.deepEqual(credentialHeaders(p, 'api.example.com'), { authorization: 'Bearer tok-1' });
    assert.deepEqual(credentialHeaders(p, 'www.example.com'), {});
    const dir = mkdtempSync(path.join(tmpdir(), 'agentry-egress-'));
    writeFileSync(path.join(dir, 'key'), 'file-key\n');
    const fromFile = policy({
      credentials: [{ domain: '*.example.com', header: 'X-Api-Key', file: path.join(dir, 'key') }],
    });
    assert.deepEqual(credentialHeaders(fromFile, 'www.example.com'), { 'x-api-key': 'file-key' });
    rmSync(dir, { recursive: true });
  });

  it('warns when a credential file cannot be read, and sends the request without it', () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const missing = policy({
      credentials: [{ domain: 'api.example.com', header: 'X-Api-Key', file: '/nonexistent/agentry-key' }],
    });
    assert.deepEqual(credentialHeaders(missing, 'api.example.com', log), {});
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0]!) as { msg: string; domain: string; err: { code: string } };
    assert.match(entry.msg, /egress credential file unreadable/);
    assert.equal(entry.domain, 'api.example.com');
    assert.equal(entry.err.code, 'ENOENT');
  });

  it('needs exactly one source per credential', () => {
    const both = tenantPolicySchema.safeParse({
      network: { credentials: [{ domain: 'a.com', env: 'X', file: '/run/secret' }] },
    });
    assert.equal(both.success, false);
    const none = tenantPolicySchema.safeParse({ network: { credentials: [{ domain: 'a.com' }] } });
    assert.equal(none.success, false);
  });
});
