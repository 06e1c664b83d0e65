/**
 * Gemini's answers as its API sends them (generateContent and streamGenerateContent?alt=sse,
 * google.rpc error bodies), for the fake upstream to replay.
 */

const signature = 'CiQBjz1rX2hhbmRzLW9mZi10aGlzLWlzLWEtc2lnbmF0dXJl';

const usage = (prompt: number, candidates: number, thoughts?: number) => ({
  promptTokenCount: prompt,
  candidatesTokenCount: candidates,
  totalTokenCount: prompt + candidates + (thoughts ?? 0),
  ...(thoughts && { thoughtsTokenCount: thoughts }),
  promptTokensDetails: [{ modality: 'TEXT', tokenCount: prompt }],
});

const answer = (parts: unknown[], finishReason: string, usageMetadata: unknown) => ({
  candidates: [{ content: { parts, role: 'model' }, finishReason, index: 0 }],
  usageMetadata,
  modelVersion: 'gemini-2.5-flash',
  responseId: 'mKdFaOGCN9yVkdUPzqyA-Ac',
});

export const gemini = {
  signature,

  /** A thinking model's answer: a thought summary, text, and a function call with its signature. */
  toolCallAnswer: answer(
    [
      { text: 'The user wants the weather; I should call the tool.', thought: true },
      { text: 'Let me check.' },
      { functionCall: { name: 'get_weather', args: { city: 'Bern' } }, thoughtSignature: signature },
    ],
    'STOP',
    usage(40, 12, 15),
  ),

  textAnswer: (text: string) => answer([{ text }], 'STOP', usage(9, 4)),

  /** A prompt Gemini refused: no candidate, only the reason. */
  blocked: {
    promptFeedback: { blockReason: 'PROHIBITED_CONTENT' },
    usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 },
    modelVersion: 'gemini-2.5-flash',
    responseId: 'blocked-1',
  },

  /** Streamed chunks: text in pieces, then two whole function calls, the finish and the usage last. */
  streamed: [
    {
      candidates: [{ content: { parts: [{ text: 'Checking ' }], role: 'model' }, index: 0 }],
      usageMetadata: { promptTokenCount: 22, totalTokenCount: 22 },
      modelVersion: 'gemini-2.5-flash',
      responseId: 'stream-1',
    },
    {
      candidates: [{ content: { parts: [{ text: 'both cities.' }], role: 'model' }, index: 0 }],
      modelVersion: 'gemini-2.5-flash',
      responseId: 'stream-1',
    },
    {
      candidates: [
        {
          content: {
            parts: [
              { functionCall: { name: 'get_weather', args: { city: 'Bern' } } },
              { functionCall: { name: 'get_weather', args: { city: 'Zug' } } },
            ],
            role: 'model',
          },
          finishReason: 'STOP',
          index: 0,
        },
      ],
      usageMetadata: usage(22, 31),
      modelVersion: 'gemini-2.5-flash',
      responseId: 'stream-1',
    },
  ],

  streamedText: [
    { candidates: [{ content: { parts: [{ text: 'Hello ' }], role: 'model' }, index: 0 }] },
    { candidates: [{ content: { parts: [{ text: 'there, ' }], role: 'model' }, index: 0 }] },
    {
      candidates: [
        { content: { parts: [{ text: 'friend.' }], role: 'model' }, finishReason: 'STOP', index: 0 },
      ],
      usageMetadata: usage(3, 5),
    },
  ],

  /** The bytes of an `alt=sse` answer: `data: <json>` events ended by CRLF pairs, as Google sends. */
  sse: (chunks: unknown[]) => chunks.map((c) => Buffer.from(`data: ${JSON.stringify(c)}\r\n\r\n`)),

  /** A google.rpc error body; `retryDelay` adds the RetryInfo detail a 429 carries. */
  error: (code: number, status: string, message: string, retryDelay?: string) => ({
    error: {
      code,
      message,
      status,
      details: [
        ...(status === 'RESOURCE_EXHAUSTED'
          ? [
              {
                '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
                violations: [
                  {
                    quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests',
                    quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
                    quotaDimensions: { location: 'global', model: 'gemini-2.5-flash' },
                    quotaValue: '10',
                  },
                ],
              },
              {
                '@type': 'type.googleapis.com/google.rpc.Help',
                links: [
                  {
                    description: 'Learn more about Gemini API quotas',
                    url: 'https://ai.google.dev/gemini-api/docs/rate-limits',
                  },
                ],
              },
            ]
          : []),
        ...(retryDelay ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay }] : []),
      ],
    },
  }),
};
