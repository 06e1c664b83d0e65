import { AgentCard } from '@a2a-js/sdk';

/**
 * The card for clients that do not say they speak A2A 1.0 (no `A2A-Version` header, as 0.3 clients
 * and most discovery tools send none): the 0.3 JSON schema's card — `protocolVersion`, `url`,
 * `preferredTransport`, security schemes with their `type` — which also carries 1.0's
 * `supportedInterfaces`, so a 1.0 reader that sent no header finds the endpoints too. A client that
 * sends `A2A-Version: 1.0` (the 1.x SDKs do) gets the 1.0 card as it is.
 */
export function legacyCardJson(card: AgentCard): Record<string, unknown> {
  const json = AgentCard.toJSON(card) as Record<string, unknown>;
  const main = card.supportedInterfaces[0];
  const schemes: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(card.securitySchemes)) {
    const v = s.scheme;
    if (v?.$case === 'apiKeySecurityScheme') {
      schemes[name] = {
        type: 'apiKey',
        in: v.value.location,
        name: v.value.name,
        description: v.value.description,
      };
    } else if (v?.$case === 'httpAuthSecurityScheme') {
      schemes[name] = {
        type: 'http',
        scheme: v.value.scheme,
        ...(v.value.bearerFormat && { bearerFormat: v.value.bearerFormat }),
        description: v.value.description,
      };
    }
  }
  const { securityRequirements: _, ...rest } = json;
  return {
    ...rest,
    protocolVersion: '0.3.0',
    url: main?.url ?? '',
    preferredTransport: main?.protocolBinding ?? 'JSONRPC',
    additionalInterfaces: card.supportedInterfaces
      .filter((i) => i.protocolVersion.startsWith('0.'))
      .map((i) => ({ url: i.url, transport: i.protocolBinding })),
    securitySchemes: schemes,
    security: card.securityRequirements.map((r) =>
      Object.fromEntries(Object.keys(r.schemes).map((k) => [k, [] as string[]])),
    ),
    capabilities: {
      streaming: card.capabilities?.streaming ?? false,
      pushNotifications: card.capabilities?.pushNotifications ?? false,
    },
    skills: card.skills.map((k) => ({
      id: k.id,
      name: k.name,
      description: k.description,
      tags: k.tags,
      ...(k.examples.length > 0 && { examples: k.examples }),
    })),
    supportsAuthenticatedExtendedCard: false,
  };
}
