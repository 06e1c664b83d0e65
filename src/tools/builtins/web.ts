import type { EgressConfig } from '../../config/mcp-config.ts';
import { fetchViaProxy, type ProxiedResponse } from '../sandbox/egress-client.ts';
import type { EgressProxy } from '../sandbox/egress-proxy.ts';
import { type ToolContext, type ToolDefinition, ToolError } from '../types.ts';

/**
 * `web_crawl` and `web_search` run on the host but reach the network only through the tenant's
 * egress proxy socket, the same one sandboxes get: the proxy's allowlist, private-address guard and
 * credential injection decide what they may fetch and what they send. Without an allowlist (or a
 * search endpoint) they answer that they are not configured.
 */

async function viaProxy(
  proxy: EgressProxy,
  ctx: ToolContext,
  url: string,
  maxBytes: number,
  accept: string,
): Promise<ProxiedResponse> {
  const socket = await proxy.socketFor(ctx.tenantId);
  let res: ProxiedResponse;
  try {
    res = await fetchViaProxy(socket, url, { maxBytes, signal: ctx.signal, headers: { accept } });
  } catch (err) {
    throw new ToolError(`could not fetch ${url}: ${(err as Error).message}`);
  }
  // The proxy's own answers carry their reason in the body (refused domain, unreachable host).
  if (res.egress) throw new ToolError(res.body.toString('utf8'));
  if (res.status >= 400) throw new ToolError(`${url} answered HTTP ${res.status}`);
  return res;
}

function cut(text: string, max: number): { text: string; truncated?: true } {
  return text.length > max
    ? { text: `${text.slice(0, max)}\n[text truncated at ${max} characters]`, truncated: true }
    : { text };
}

export function webCrawlTool(
  proxy: EgressProxy,
  config: EgressConfig,
): ToolDefinition<{ url: string; max_chars?: number }> {
  return {
    name: 'web_crawl',
    idempotent: true,
    description:
      "Fetch a web page (http or https) and return its readable text and title. Only the domains on this tenant's egress allowlist can be reached.",
    parameters: {
      type: 'object',
      properties: {
        url: { type: 'string', minLength: 1, maxLength: 4096 },
        max_chars: { type: 'integer', minimum: 100, maximum: config.crawl_max_chars },
      },
      required: ['url'],
      additionalProperties: false,
    },
    timeout_ms: config.timeout_ms + 5_000,
    async handler(args, ctx) {
      const policy = await proxy.policyFor(ctx.tenantId);
      if (policy.network.egress_allow.length === 0) {
        throw new ToolError(
          'web_crawl is not configured for this tenant: no domains are allowed (tenants.yaml network.egress_allow)',
        );
      }
      let url: URL;
      try {
        url = new URL(args.url);
      } catch {
        throw new ToolError(`not a valid URL: ${args.url}`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new ToolError('only http and https URLs can be fetched');
      const res = await viaProxy(proxy, ctx, url.href, config.max_response_bytes, 'text/html, text/*;q=0.9');
      const type = String(res.headers['content-type'] ?? '').toLowerCase();
      const body = res.body.toString('utf8');
      let page: { title: string; text: string };
      // The HTML parser is loaded by the first page crawled, as the knowledge ingest does.
      if (type.includes('html')) page = (await import('../../text/html.ts')).htmlToText(body);
      else if (type.startsWith('text/') || type.includes('json') || type.includes('xml') || type === '')
        page = { title: '', text: body };
      else throw new ToolError(`${url.href} is ${type}, not a page with text`);
      const out = cut(page.text, args.max_chars ?? config.crawl_max_chars);
      return {
        url: url.href,
        status: res.status,
        ...(page.title && { title: page.title }),
        ...out,
        ...(res.truncated && { truncated: true }),
      };
    },
  };
}

export function webSearchTool(proxy: EgressProxy, config: EgressConfig): ToolDefinition<{ query: string }> {
  return {
    name: 'web_search',
    idempotent: true,
    description: "Search the web through this tenant's configured search endpoint; returns its results.",
    parameters: {
      type: 'object',
      properties: { query: { type: 'string', minLength: 1, maxLength: 1000 } },
      required: ['query'],
      additionalProperties: false,
    },
    timeout_ms: config.timeout_ms + 5_000,
    async handler(args, ctx) {
      const search = (await proxy.policyFor(ctx.tenantId)).network.search;
      if (!search) {
        throw new ToolError(
          'web_search is not configured for this tenant: it needs a search endpoint (tenants.yaml network.search.url)',
        );
      }
      const url = new URL(search.url);
      url.searchParams.set(search.query_param, args.query);
      const res = await viaProxy(proxy, ctx, url.href, config.max_response_bytes, 'application/json');
      const text = res.body.toString('utf8');
      try {
        const results: unknown = JSON.parse(text);
        if (text.length <= config.crawl_max_chars) return { query: args.query, results };
      } catch {
        // Not JSON: the text as it came, cut to size.
      }
      return { query: args.query, ...cut(text, config.crawl_max_chars) };
    },
  };
}
