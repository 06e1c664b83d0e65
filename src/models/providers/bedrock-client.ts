import {
  BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandOutput,
  type ConverseRequest,
  ConverseStreamCommand,
  type ConverseStreamOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ModelTimeouts } from '../../config/models-config.ts';
import { abortSignalOf } from '../call-signal.ts';
import type { ProviderCall } from '../provider.ts';
import { requestHeaders } from './http-client.ts';

/**
 * The AWS SDK's side of the Bedrock provider, in a module of its own: `bedrock.ts` imports it on
 * the first call, so a server with no Bedrock endpoint never loads the SDK (about half a second
 * and 20 MB at start).
 */

export interface BedrockClientOptions {
  region?: string;
  endpoint?: string;
  profile?: string;
  timeouts: ModelTimeouts;
}

export interface BedrockClient {
  converse(input: ConverseRequest, call: ProviderCall): Promise<ConverseCommandOutput>;
  converseStream(input: ConverseRequest, call: ProviderCall): Promise<AsyncIterable<ConverseStreamOutput>>;
}

export function bedrockClient(options: BedrockClientOptions): BedrockClient {
  const client = new BedrockRuntimeClient({
    ...(options.region && { region: options.region }),
    ...(options.endpoint && { endpoint: options.endpoint }),
    ...(options.profile && { profile: options.profile }),
    // The gateway retries, once, in one place; its signal bounds the whole call and the first byte.
    maxAttempts: 1,
    // HTTP/1.1, not the client's default HTTP/2 (which only bidirectional streams need): Converse
    // and ConverseStream are plain request-answer exchanges, and a VPC endpoint or proxy in
    // between need not speak h2. No socket cap: the gateway's rate limits and Bedrock's quotas
    // bound concurrency, and a streamed answer holds its socket for its whole length.
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.timeouts.connect_ms,
      httpAgent: { keepAlive: true, maxSockets: Number.POSITIVE_INFINITY },
      httpsAgent: { keepAlive: true, maxSockets: Number.POSITIVE_INFINITY },
    }),
  });
  return {
    async converse(input, call) {
      const command = new ConverseCommand(input);
      withHeaders(command, call);
      return client.send(command, { abortSignal: abortSignalOf(call.signal) });
    },
    async converseStream(input, call) {
      const command = new ConverseStreamCommand(input);
      withHeaders(command, call);
      const res = await client.send(command, { abortSignal: abortSignalOf(call.signal) });
      if (!res.stream) throw new Error('the upstream answered no event stream');
      return res.stream;
    },
  };
}

/**
 * Sends the caller's request id and trace upstream, as the other providers do: added before the
 * SDK signs the request, so they are signed with it.
 */
function withHeaders(command: ConverseCommand | ConverseStreamCommand, call: ProviderCall): void {
  const headers = requestHeaders(call);
  if (!headers) return;
  // Both commands' stacks take the same build step; their types differ only in input and output.
  const stack = command.middlewareStack as ConverseCommand['middlewareStack'];
  stack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) Object.assign(request.headers, headers);
      return next(args);
    },
    { step: 'build', name: 'agentryRequestIds' },
  );
}
