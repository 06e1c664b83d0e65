import type { FastifyPluginAsync } from 'fastify';
import type { Services } from '../http/services.ts';
import { a2aRoutes } from './a2a/routes.ts';
import { messageRoutes } from './anthropic/messages.ts';
import { mcpEndpointRoutes } from './mcp/routes.ts';
import { chatCompletionRoutes } from './openai/chat-completions.ts';
import { embeddingRoutes } from './openai/embeddings.ts';
import { modelRoutes } from './openai/models.ts';
import { responseRoutes } from './openai/responses.ts';
import { otlpRoutes } from './otlp/routes.ts';

/** A door's routes: what `buildHttp` registers for it, after the house's own routes. */
export type Door = (services: Services) => FastifyPluginAsync[];

/** Every wire protocol Agentry speaks, each a folder beside this file. */
export const doorNames = ['openai', 'anthropic', 'mcp', 'a2a', 'otlp'] as const;
export type DoorName = (typeof doorNames)[number];

/**
 * The front doors. Adding one: its folder here (request mapping, answer mapping, `errors.ts` rendering
 * the vendor's error body on `wire-errors.ts`), its name in `doorNames` and its entry below; the
 * compiler refuses either without the other (docs/architecture.md, "Adding a front door").
 * compose/serving.ts hands this list to `buildHttp`, so `http/` never imports a door.
 */
export const doors = {
  openai: (s) => [chatCompletionRoutes(s), responseRoutes(s), modelRoutes(s), embeddingRoutes(s)],
  anthropic: (s) => [messageRoutes(s)],
  mcp: (s) => [mcpEndpointRoutes(s)],
  a2a: (s) => [a2aRoutes(s)],
  otlp: (s) => [otlpRoutes(s)],
} satisfies Record<DoorName, Door>;
