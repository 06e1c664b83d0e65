import { type ToolDefinition, ToolError } from '../types.ts';

/**
 * Tools that need what this deployment does not have yet: a sandbox for shell commands, network
 * access for search and crawling. They are registered so agents that name them get a clear tool
 * error the model can relay, never a made-up result; the sandbox work replaces them.
 */
function unavailable<A>(
  name: string,
  description: string,
  needs: string,
  parameters: Record<string, unknown>,
  requires_approval = false,
): ToolDefinition<A> {
  return {
    name,
    description,
    parameters,
    requires_approval,
    async handler() {
      throw new ToolError(
        `${name} is not available in this deployment: it needs ${needs}, which is not configured`,
      );
    },
  };
}

export const bashExecutePlaceholder = unavailable<{ command: string }>(
  'bash_execute',
  'Run a shell command in the session sandbox.',
  'a sandbox',
  {
    type: 'object',
    properties: { command: { type: 'string', minLength: 1 } },
    required: ['command'],
    additionalProperties: false,
  },
  true,
);

export const webSearchPlaceholder = unavailable<{ query: string }>(
  'web_search',
  'Search the web.',
  'network access and a search provider',
  {
    type: 'object',
    properties: { query: { type: 'string', minLength: 1 } },
    required: ['query'],
    additionalProperties: false,
  },
);

export const webCrawlPlaceholder = unavailable<{ url: string }>(
  'web_crawl',
  'Fetch a web page and return its text.',
  'network access',
  {
    type: 'object',
    properties: { url: { type: 'string', minLength: 1 } },
    required: ['url'],
    additionalProperties: false,
  },
);
