/**
 * The provider spec's machinery (test/models/provider-spec.test.ts): what a row records and how it
 * starts, a provider made from its factory in the registry, a stream collected, a bounded wait.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConfigInput, testConfig } from '../../../src/config/config.ts';
import type { ProviderConfig, ProviderType } from '../../../src/config/models-config.ts';
import type { Provider } from '../../../src/models/provider.ts';
import { providerFactories } from '../../../src/models/providers/registry.ts';
import type { CompletionChunk } from '../../../src/models/types.ts';
import { type BedrockScripted, FakeBedrock } from './fake-bedrock.ts';
import { FakeTokenEndpoint, writeFederationCredentials } from './fake-google-sts.ts';
import { FakeUpstream, type Scripted } from './fake-upstream.ts';

/** A case a provider cannot run, and why: written in its row, never skipped in silence. */
interface Cannot {
  cannot: string;
}
/** A text answer: its text and its usage as the vendor reported it. */
export interface Text {
  text: string;
  usage: [prompt: number, completion: number];
}
type Calls = Array<{ name: string; arguments: Record<string, unknown> }>;
/** A refusal: what its message keeps of the vendor's, and the wait it asked for (seconds). */
interface Refusal {
  message: RegExp;
  retryAfter?: number;
}

/** A row's recorded answers, in its fake's script type `S`, each with what the provider makes of it. */
export interface Recorded<S> {
  whole: [S, Text];
  streamed: [S, Text];
  toolWhole: [S, Calls];
  toolStreamed: [S, Calls];
  rateLimited: [S, Refusal];
  badRequest: [S, Refusal];
  /** A long stream, slow enough to abort after its first chunk. */
  slow: S;
  /** An answer that never comes (until the caller gives up). */
  hang: S;
}

/** A started row: the provider, its fake, and how to script the fake. */
export interface Rig<S> {
  provider: Provider;
  model: string;
  script(answer: S): void;
  /** The requests the fake saw, each `aborted` when the provider closed it before the end. */
  seen: Array<{ aborted: Promise<void> }> | Cannot;
  close(): Promise<void>;
}

export interface SpecRow<S> {
  start(): Promise<Rig<S>>;
  answers: Recorded<S>;
}

export const config = (models: ConfigInput['models'] = {}) => testConfig({ models }).models;

/** The provider of kind `type` from its factory in the registry. */
export function make(
  type: ProviderType,
  endpoint: Omit<ProviderConfig, 'type'>,
  apiKey?: string,
  models = config(),
) {
  const factory = providerFactories[type];
  return factory({ name: type, endpoint: { type, ...endpoint }, apiKey, timeouts: models.timeouts, models });
}

/** A row whose vendor speaks over a `FakeUpstream`. */
export async function upstreamRig(
  type: ProviderType,
  endpoint: (url: string) => Omit<ProviderConfig, 'type'>,
  apiKey?: string,
): Promise<Rig<Scripted>> {
  const fake = await new FakeUpstream().start();
  return {
    provider: make(type, endpoint(fake.url), apiKey),
    model: 'spec-model',
    script: (answer) => fake.answer(answer),
    seen: fake.seen,
    close: () => fake.close(),
  };
}

/** Sets these environment variables (undefined: unset) and answers how to put them back. */
function withEnv(vars: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (v: Record<string, string | undefined>) => {
    for (const [k, value] of Object.entries(v)) {
      if (value === undefined) delete process.env[k];
      else process.env[k] = value;
    }
  };
  set(vars);
  return () => set(saved);
}

/** The rows, one per provider kind; `row` only erases each row's script type for the table. */
export const row = <S>(r: SpecRow<S>) => r as unknown as SpecRow<unknown>;

/** What a stream made: its text, its tool calls put together, its finishes (the last chunk's first). */
export async function collect(chunks: AsyncIterable<CompletionChunk>) {
  let text = '';
  const calls: Array<{ id?: string; name?: string; args: string }> = [];
  const finishes: Array<Extract<CompletionChunk, { type: 'finish' }>> = [];
  let last: CompletionChunk | undefined;
  for await (const chunk of chunks) {
    last = chunk;
    if (chunk.type === 'text') text += chunk.delta;
    if (chunk.type === 'finish') finishes.push(chunk);
    if (chunk.type !== 'tool_call') continue;
    calls[chunk.index] ??= { args: '' };
    const call = calls[chunk.index]!;
    call.id ??= chunk.id;
    call.name ??= chunk.name;
    call.args += chunk.arguments_delta;
  }
  assert.equal(finishes.length, 1, 'exactly one finish');
  assert.equal(last, finishes[0], 'the finish comes last');
  return { text, calls, finish: finishes[0]! };
}

/** The promise, or a failure naming `what` after `ms`. */
export function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Bedrock's row: its fake, and AWS credentials from the environment, as the SDK's chain reads them. */
export async function bedrockRig(model: string): Promise<Rig<BedrockScripted>> {
  const fake = await new FakeBedrock().start();
  // The fake checks every signature made with this key, as Bedrock does.
  fake.secrets.set('AKIDAGENTRYSPEC00001', 'spec-secret');
  const restore = withEnv({
    AWS_ACCESS_KEY_ID: 'AKIDAGENTRYSPEC00001',
    AWS_SECRET_ACCESS_KEY: 'spec-secret',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_BEARER_TOKEN_BEDROCK: undefined,
  });
  return {
    provider: make('bedrock', { base_url: fake.url, region: 'us-east-1' }),
    model,
    script: (answer) => fake.answer(answer),
    seen: fake.seen,
    close: async () => {
      restore();
      await fake.close();
    },
  };
}

/** Vertex AI's row: its fake, and Application Default Credentials trading for a token at a fake STS. */
export async function vertexRig(project: string): Promise<Rig<Scripted>> {
  const [sts, dir] = [await new FakeTokenEndpoint().start(), mkdtempSync(join(tmpdir(), 'agentry-spec-'))];
  const restore = withEnv({
    GOOGLE_APPLICATION_CREDENTIALS: writeFederationCredentials(dir, 'adc.json', `${sts.url}/v1/token`),
  });
  const rig = await upstreamRig('vertex', (url) => ({ base_url: `${url}/v1`, project }));
  return {
    ...rig,
    close: async () => {
      restore();
      rmSync(dir, { recursive: true, force: true });
      await Promise.all([rig.close(), sts.close()]);
    },
  };
}
