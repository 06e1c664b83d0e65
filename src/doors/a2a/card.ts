import type { AgentCard, AgentSkill } from '@a2a-js/sdk';
import type { Agent } from '../../agents/schema.ts';
import type { ToolSpec } from '../../models/types.ts';

/** The A2A versions this server speaks on each agent's JSON-RPC endpoint (0.3 through the SDK's compat layer). */
const versions = ['1.0', '0.3'] as const;

/** Where an agent's A2A endpoint lives under this server's base URL; its card is below it. */
export const a2aPath = (agentId: string) => `/a2a/${agentId}`;

const skill = (id: string, name: string, description: string, tags: string[]): AgentSkill => ({
  id,
  name,
  description,
  tags,
  examples: [],
  inputModes: [],
  outputModes: [],
  securityRequirements: [],
});

/**
 * The agent card of one agent: a `chat` skill, one skill per task type and one per tool it may
 * call; text in and out; streaming and push notifications; and the two ways Agentry takes an API
 * key (`Authorization: Bearer agk_…` or `X-API-Key`), either of which will do.
 */
export function agentCard(agent: Agent, baseUrl: string, tools: ToolSpec[], version: string): AgentCard {
  // Ends with a slash: a client given this URL finds the card below it (`.well-known/…` resolved
  // against it), which a URL without one would lose its last segment for.
  const url = `${baseUrl.replace(/\/+$/, '')}${a2aPath(agent.id)}/`;
  const description = agent.description || `The Agentry agent ${agent.name}.`;
  return {
    name: agent.name,
    description,
    supportedInterfaces: versions.map((protocolVersion) => ({
      url,
      protocolBinding: 'JSONRPC',
      tenant: '',
      protocolVersion,
    })),
    provider: { organization: 'Agentry', url: baseUrl },
    version: `${version}+agent.${agent.version}`,
    capabilities: { streaming: true, pushNotifications: true, extensions: [], extendedAgentCard: false },
    securitySchemes,
    securityRequirements,
    defaultInputModes: ['text/plain', 'application/json'],
    defaultOutputModes: ['text/plain'],
    skills: [
      skill('chat', 'chat', description, ['chat']),
      ...agent.task_types.map((t) =>
        skill(`task:${t.name}`, t.name, t.description ?? `Task type ${t.name}`, ['task_type']),
      ),
      ...tools.map((t) =>
        skill(`tool:${t.function.name}`, t.function.name, t.function.description ?? '', ['tool']),
      ),
    ],
    signatures: [],
  };
}

/**
 * The two ways Agentry takes an API key, either of which will do: what every endpoint enforces
 * (a request without one is a 401).
 */
const securitySchemes: AgentCard['securitySchemes'] = {
  bearer: {
    scheme: {
      $case: 'httpAuthSecurityScheme',
      value: { description: 'An Agentry API key (agk_…)', scheme: 'bearer', bearerFormat: 'agk' },
    },
  },
  api_key: {
    scheme: {
      $case: 'apiKeySecurityScheme',
      value: { description: 'An Agentry API key (agk_…)', location: 'header', name: 'X-API-Key' },
    },
  },
};
const securityRequirements: AgentCard['securityRequirements'] = [
  { schemes: { bearer: { list: [] } } },
  { schemes: { api_key: { list: [] } } },
];
