import type { AgentContext, HandleInput, HandleOutput } from './agentry.ts';

/**
 * Agentry calls this once per chat message or task (see src/agentry.ts for the contract).
 * Edit it, run `npm test`, then `agentry deploy .` to upload a new version.
 */
export async function handle(input: HandleInput, ctx: AgentContext): Promise<HandleOutput> {
  const answer = await ctx.model.chat([
    { role: 'system', content: 'You are a concise, helpful assistant.' },
    ...input.messages,
  ]);
  return answer.content ?? '';
}
