/**
 * Named OpenAI-compatible endpoints (`models.providers.<name>.preset`), so a local server or a hosted
 * vendor needs no `type`, `base_url` or `api_key_env` by hand. A preset's `base_url` is its default
 * only: the operator's own wins (an Ollama on another machine of the LAN), and a hosted vendor's
 * preset with no `base_url` of its own is the vendor's endpoint, so an unset key variable leaves it
 * unconfigured (never dialled) as the built-in `openai` is. Local servers take no key.
 */
export interface ProviderPreset {
  /** The endpoint's base URL, `/v1` included. */
  base_url: string;
  /** The key's conventional environment variable; none: a local server that takes no key. */
  api_key_env?: string;
}

export const providerPresets = {
  ollama: { base_url: 'http://127.0.0.1:11434/v1' },
  vllm: { base_url: 'http://127.0.0.1:8000/v1' },
  lmstudio: { base_url: 'http://127.0.0.1:1234/v1' },
  llamacpp: { base_url: 'http://127.0.0.1:8080/v1' },
  openrouter: { base_url: 'https://openrouter.ai/api/v1', api_key_env: 'OPENROUTER_API_KEY' },
  groq: { base_url: 'https://api.groq.com/openai/v1', api_key_env: 'GROQ_API_KEY' },
  mistral: { base_url: 'https://api.mistral.ai/v1', api_key_env: 'MISTRAL_API_KEY' },
  deepseek: { base_url: 'https://api.deepseek.com/v1', api_key_env: 'DEEPSEEK_API_KEY' },
  together: { base_url: 'https://api.together.xyz/v1', api_key_env: 'TOGETHER_API_KEY' },
  fireworks: { base_url: 'https://api.fireworks.ai/inference/v1', api_key_env: 'FIREWORKS_API_KEY' },
} as const satisfies Record<string, ProviderPreset>;

export type PresetName = keyof typeof providerPresets;
export const presetNames = Object.keys(providerPresets) as [PresetName, ...PresetName[]];
