/**
 * The contract between Agentry and this agent. Agentry calls `handle(input, ctx)` once per chat
 * message or task, inside a sandbox from its pool: no network, no host files. Everything outside
 * the sandbox is reached through `ctx`, which Agentry answers on the host side (the agent's tenant,
 * its tools and its budgets apply).
 */

export interface Message {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | null;
}

/** What one call of `handle` is asked to do. */
export interface HandleInput {
  /** The newest user message (for a task: its rendered prompt). */
  message: string;
  /** The session's conversation so far, oldest first, ending with `message`. */
  messages: Message[];
  /** The `context` the chat request carried ({} when none). */
  context: Record<string, unknown>;
}

export interface ChatOptions {
  /** Defaults to the agent's model; the tenant's model policy decides what is allowed. */
  model?: string;
  max_tokens?: number;
  temperature?: number;
}

export interface ChatResult {
  content: string | null;
  finish_reason: string;
  /** The model that answered (after aliases and fallbacks). */
  model: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export interface AgentContext {
  /** The model gateway. A string is sent as one user message. Each call is a step of the run. */
  model: { chat(messages: string | Message[], options?: ChatOptions): Promise<ChatResult> };
  /**
   * The agent's tools (those listed in its config). `call` resolves with the tool's output and
   * rejects with the tool's error message; a tool the agent does not list is refused.
   */
  tools: {
    call(name: string, args?: Record<string, unknown>): Promise<unknown>;
    list(): Promise<Array<{ name: string; description?: string }>>;
  };
  agent: { id: string; name: string };
  session: { id: string };
  run: { id: string };
  /** Set when the run executes a task. */
  task?: { id: string };
  /** Aborts when the run is cancelled or Agentry loses the connection to the sandbox. */
  signal: AbortSignal;
}

/** What `handle` returns: a string is the answer; anything else is answered as JSON. */
export type HandleOutput = string | Record<string, unknown> | unknown[] | number | boolean | null;
