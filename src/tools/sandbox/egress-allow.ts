import { readFileSync } from 'node:fs';
import type { EgressCredential, TenantPolicy } from '../../config/tenant-policy.ts';
import { normalHost, refusedUrl } from '../../net/ssrf.ts';
import type { Logger } from '../../observability/logger.ts';

/** `api.example.com` matches itself only; `*.example.com` matches any name below example.com. */
export function domainMatches(entry: string, host: string): boolean {
  const e = normalHost(entry.trim());
  if (e.startsWith('*.')) return host.endsWith(e.slice(1)) && host.length > e.length - 1;
  return host === e;
}

/** The tenant's allowlist: `egress_allow` plus the host of its search endpoint. */
export function allowedDomains(policy: TenantPolicy): string[] {
  const out = [...policy.network.egress_allow];
  if (policy.network.search) out.push(new URL(policy.network.search.url).hostname);
  return out;
}

/** Why the proxy refuses `url` for this tenant, before any connection; undefined when it may go. */
export function egressRefusal(policy: TenantPolicy, url: URL): string | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `${url.protocol} is not http or https`;
  const host = normalHost(url.hostname);
  const allowed = allowedDomains(policy);
  if (allowed.length === 0) return 'this tenant has no egress allowlist (tenants.yaml network.egress_allow)';
  if (!allowed.some((d) => domainMatches(d, host)))
    return `${host} is not in this tenant's egress allowlist (tenants.yaml network.egress_allow)`;
  // Literal private addresses and internal names; names that resolve to one are caught at connect time.
  if (!policy.network.allow_private_egress) {
    const reason = refusedUrl(url.href);
    if (reason) return `${reason} (tenants.yaml network.allow_private_egress is off)`;
  }
  return undefined;
}

/**
 * The headers the proxy adds for `host`, read from the server's environment or files at each use.
 * A credential file that cannot be read is warned about on `log`: the request goes without it.
 */
export function credentialHeaders(policy: TenantPolicy, host: string, log?: Logger): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of policy.network.credentials) {
    if (!domainMatches(c.domain, normalHost(host))) continue;
    const secret = readSecret(c, log);
    if (secret !== undefined) out[c.header.toLowerCase()] = `${c.prefix}${secret}`;
  }
  return out;
}

function readSecret(c: EgressCredential, log?: Logger): string | undefined {
  if (c.env !== undefined) return process.env[c.env];
  try {
    return readFileSync(c.file!, 'utf8').trim();
  } catch (err) {
    log?.warn(
      { err, domain: c.domain, file: c.file },
      'egress credential file unreadable: request sent without it',
    );
    return undefined;
  }
}
