/**
 * Answers in the shapes the vendors send, written after their API references and published
 * examples (ids, timestamps and filter results shortened), not captured from a live account: what
 * the fake upstreams replay, so the providers meet the fields they really get
 * (Azure's content-filter results and its first chunk with no choices, Ollama's fingerprint,
 * OpenRouter's keep-alive comments and provider name, Groq's `x_groq`). Anthropic's are the ones
 * the Messages tests replay, with its error bodies as its API reference gives them.
 */

const safe = { filtered: false, severity: 'safe' };
const filters = { hate: safe, self_harm: safe, sexual: safe, violence: safe };

/** Azure's first streamed event: the prompt's filter results, no choices and an empty model. */
const azurePromptEvent = {
  choices: [],
  created: 0,
  id: '',
  model: '',
  object: '',
  prompt_filter_results: [{ prompt_index: 0, content_filter_results: filters }],
};

/** Azure OpenAI, `2024-10-21` and v1. */
export const azure = {
  completion: {
    id: 'chatcmpl-AY3xQ7k2',
    object: 'chat.completion',
    created: 1732700000,
    model: 'gpt-4o-2024-08-06',
    system_fingerprint: 'fp_04751d0b65',
    prompt_filter_results: [{ prompt_index: 0, content_filter_results: filters }],
    choices: [
      {
        index: 0,
        finish_reason: 'stop',
        logprobs: null,
        content_filter_results: filters,
        message: { role: 'assistant', content: 'Hello from Azure.', refusal: null },
      },
    ],
    usage: {
      prompt_tokens: 9,
      completion_tokens: 5,
      total_tokens: 14,
      prompt_tokens_details: { audio_tokens: 0, cached_tokens: 0 },
      completion_tokens_details: {
        accepted_prediction_tokens: 0,
        audio_tokens: 0,
        reasoning_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    },
  },
  /** A streamed answer with a tool call, `stream_options.include_usage` on. */
  toolStream: [
    azurePromptEvent,
    azureChunk({
      role: 'assistant',
      content: null,
      tool_calls: [
        {
          index: 0,
          id: 'call_az1',
          type: 'function',
          function: { name: 'get_weather', arguments: '' },
        },
      ],
    }),
    azureChunk({ tool_calls: [{ index: 0, function: { arguments: '{"city"' } }] }),
    azureChunk({ tool_calls: [{ index: 0, function: { arguments: ':"Oslo"}' } }] }),
    azureChunk({}, 'tool_calls'),
    {
      choices: [],
      created: 1732700001,
      id: 'chatcmpl-AY3xR9',
      model: 'gpt-4o-2024-08-06',
      object: 'chat.completion.chunk',
      system_fingerprint: 'fp_04751d0b65',
      usage: { prompt_tokens: 61, completion_tokens: 16, total_tokens: 77 },
    },
    '[DONE]',
  ],
  /** The same answer streamed, `stream_options.include_usage` on. */
  textStream: [
    azurePromptEvent,
    azureChunk({ role: 'assistant', content: '', refusal: null }),
    azureChunk({ content: 'Hello from' }),
    azureChunk({ content: ' Azure.' }),
    azureChunk({}, 'stop'),
    {
      choices: [],
      created: 1732700001,
      id: 'chatcmpl-AY3xR9',
      model: 'gpt-4o-2024-08-06',
      object: 'chat.completion.chunk',
      system_fingerprint: 'fp_04751d0b65',
      usage: { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 },
    },
    '[DONE]',
  ],
  /** The tool call of `toolStream`, answered whole. */
  toolCompletion: {
    id: 'chatcmpl-AY3xS2',
    object: 'chat.completion',
    created: 1732700002,
    model: 'gpt-4o-2024-08-06',
    system_fingerprint: 'fp_04751d0b65',
    prompt_filter_results: [{ prompt_index: 0, content_filter_results: filters }],
    choices: [
      {
        index: 0,
        finish_reason: 'tool_calls',
        logprobs: null,
        content_filter_results: {},
        message: {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [
            {
              id: 'call_az2',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
            },
          ],
        },
      },
    ],
    usage: { prompt_tokens: 61, completion_tokens: 16, total_tokens: 77 },
  },
  embeddings: {
    object: 'list',
    model: 'text-embedding-3-small',
    data: [
      { object: 'embedding', index: 1, embedding: [0.5, -0.25, 0.125] },
      { object: 'embedding', index: 0, embedding: [0.25, 0.5, 0.75] },
    ],
    usage: { prompt_tokens: 4, total_tokens: 4 },
  },
  /** A token-rate 429: Azure says when in `retry-after-ms` (and `retry-after`, rounded up). */
  rateLimited: {
    status: 429,
    body: {
      error: {
        code: '429',
        message:
          'Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have ' +
          'exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 30 seconds.',
      },
    },
    headers: {
      'retry-after-ms': '30000',
      'x-ratelimit-remaining-requests': '59',
      'x-ratelimit-remaining-tokens': '0',
    },
  },
  /** A prompt the content filter refused. */
  filtered: {
    status: 400,
    body: {
      error: {
        message:
          "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        type: null,
        param: 'prompt',
        code: 'content_filter',
        status: 400,
        innererror: { code: 'ResponsibleAIPolicyViolation', content_filter_result: filters },
      },
    },
  },
};

function azureChunk(delta: Record<string, unknown>, finish: string | null = null) {
  return {
    choices: [
      {
        index: 0,
        delta,
        finish_reason: finish,
        ...(delta.content !== undefined || finish ? { content_filter_results: filters } : {}),
      },
    ],
    created: 1732700001,
    id: 'chatcmpl-AY3xR9',
    model: 'gpt-4o-2024-08-06',
    object: 'chat.completion.chunk',
    system_fingerprint: 'fp_04751d0b65',
  };
}

/** Ollama's OpenAI-compatible API (`/v1`), llama3.2. */
export const ollama = {
  completion: {
    id: 'chatcmpl-417',
    object: 'chat.completion',
    created: 1732700100,
    model: 'llama3.2',
    system_fingerprint: 'fp_ollama',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hi from llama.' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 27, completion_tokens: 5, total_tokens: 32 },
  },
  /** Ollama streams a tool call whole, in one chunk, and ends it with `finish_reason: tool_calls`. */
  toolStream: [
    ollamaChunk({
      role: 'assistant',
      content: '',
      tool_calls: [
        {
          id: 'call_q2nm3y7w',
          index: 0,
          type: 'function',
          function: { name: 'get_weather', arguments: '{"city":"Lima"}' },
        },
      ],
    }),
    ollamaChunk({ role: 'assistant', content: '' }, 'tool_calls'),
    {
      id: 'chatcmpl-418',
      object: 'chat.completion.chunk',
      created: 1732700101,
      model: 'llama3.2',
      system_fingerprint: 'fp_ollama',
      choices: [],
      usage: { prompt_tokens: 140, completion_tokens: 18, total_tokens: 158 },
    },
    '[DONE]',
  ],
  /** A model that is not pulled. */
  notFound: {
    status: 404,
    body: {
      error: {
        message: 'model "llama9" not found, try pulling it first',
        type: 'api_error',
        param: null,
        code: null,
      },
    },
  },
};

function ollamaChunk(delta: Record<string, unknown>, finish: string | null = null) {
  return {
    id: 'chatcmpl-418',
    object: 'chat.completion.chunk',
    created: 1732700101,
    model: 'llama3.2',
    system_fingerprint: 'fp_ollama',
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
}

/** llama.cpp's server while it loads its model. */
export const llamacpp = {
  loading: {
    status: 503,
    body: { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } },
  },
};

/** OpenRouter: keep-alive comments in the stream, the routed provider's name in every answer. */
export const openrouter = {
  stream: [
    ': OPENROUTER PROCESSING\n\n',
    ': OPENROUTER PROCESSING\n\n',
    orChunk({ role: 'assistant', content: 'Routed ' }),
    orChunk({ role: 'assistant', content: 'answer.' }),
    orChunk({ role: 'assistant', content: '' }, 'stop'),
    {
      id: 'gen-1732700200-Xq',
      provider: 'Mistral',
      model: 'mistralai/mistral-small-3.1-24b-instruct',
      object: 'chat.completion.chunk',
      created: 1732700200,
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
      usage: { prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 },
    },
    '[DONE]',
  ],
};

function orChunk(delta: Record<string, unknown>, finish: string | null = null) {
  return {
    id: 'gen-1732700200-Xq',
    provider: 'Mistral',
    model: 'mistralai/mistral-small-3.1-24b-instruct',
    object: 'chat.completion.chunk',
    created: 1732700200,
    choices: [{ index: 0, delta, finish_reason: finish, native_finish_reason: finish }],
  };
}

/** Groq: a tokens-per-minute 429 with `retry-after`, and usage with its timings. */
export const groq = {
  rateLimited: {
    status: 429,
    body: {
      error: {
        message:
          'Rate limit reached for model `llama-3.3-70b-versatile` in organization `org_01` on tokens per ' +
          'minute (TPM): Limit 6000, Used 5890, Requested 412. Please try again in 3.02s.',
        type: 'tokens',
        code: 'rate_limit_exceeded',
      },
    },
    headers: { 'retry-after': '4', 'x-ratelimit-remaining-tokens': '110' },
  },
  completion: {
    id: 'chatcmpl-7f2c',
    object: 'chat.completion',
    created: 1732700300,
    model: 'llama-3.3-70b-versatile',
    system_fingerprint: 'fp_c0cfa69934',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          tool_calls: [
            {
              id: 'call_5x1b',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Quito"}' },
            },
          ],
        },
        logprobs: null,
        finish_reason: 'tool_calls',
      },
    ],
    usage: {
      queue_time: 0.02,
      prompt_tokens: 224,
      prompt_time: 0.011,
      completion_tokens: 19,
      completion_time: 0.069,
      total_tokens: 243,
      total_time: 0.08,
    },
    x_groq: { id: 'req_01jd6' },
  },
};

/** Anthropic's Messages API: whole answers, event streams (sent with their event names), errors. */
export const anthropic = {
  completion: (text: string) => ({
    id: 'msg_up',
    type: 'message',
    role: 'assistant',
    model: 'claude-x',
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 10, output_tokens: 3 },
  }),
  toolCompletion: {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-x',
    content: [
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Bern' } },
    ],
    stop_reason: 'tool_use',
    stop_sequence: null,
    usage: { input_tokens: 40, output_tokens: 12 },
  },
  /** A stream's events: its text in these deltas, then `stop` with the output tokens. */
  stream(deltas: string[], stop = 'end_turn', outputTokens = 17): unknown[] {
    return [
      anthropicStart(25),
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      ...deltas.map((text) => ({
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text },
      })),
      { type: 'content_block_stop', index: 0 },
      {
        type: 'message_delta',
        delta: { stop_reason: stop, stop_sequence: null },
        usage: { output_tokens: outputTokens },
      },
      { type: 'message_stop' },
    ];
  },
  toolStream: [
    anthropicStart(25),
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Checking ' } },
    { type: 'content_block_stop', index: 0 },
    {
      type: 'content_block_start',
      index: 1,
      content_block: { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: {} },
    },
    { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"city":' } },
    { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"Chur"}' } },
    { type: 'content_block_stop', index: 1 },
    {
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { output_tokens: 17 },
    },
    { type: 'message_stop' },
  ],
  /** A 429 with the wait in `retry-after`, as Anthropic's rate limits answer. */
  rateLimited: {
    status: 429,
    body: {
      type: 'error',
      error: {
        type: 'rate_limit_error',
        message:
          'This request would exceed the rate limit for your organization of 50,000 input tokens per minute.',
      },
    },
    headers: { 'retry-after': '20', 'anthropic-ratelimit-input-tokens-remaining': '0' },
  },
  invalid: {
    status: 400,
    body: {
      type: 'error',
      error: { type: 'invalid_request_error', message: 'temperature: range: 0..1' },
    },
  },
};

function anthropicStart(inputTokens: number) {
  return {
    type: 'message_start',
    message: {
      id: 'msg_2',
      type: 'message',
      role: 'assistant',
      model: 'claude-x',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: inputTokens, output_tokens: 1 },
    },
  };
}
