import createFetchClient, {
  type Client,
  type ClientPathsWithMethod,
  type FetchResponse,
  type MaybeOptionalInit,
} from 'openapi-fetch';
import { AgentryError } from './errors.ts';
import { type EvaluateOptions, type Evaluation, evaluate } from './evaluate.ts';
import type { RunEvent } from './events.ts';
import type { paths } from './openapi.js';
import { type Opener, type ResumeOptions, resumableRunEvents, type StreamOptions } from './stream.ts';

/**
 * The typed client of Agentry's `/v1` API (`import { createClient } from 'agentry/client'`). The
 * routes, their parameters, bodies and answers are the types generated from the server's own
 * OpenAPI document (packages/client/src/openapi.d.ts, `npm run gen:api`), called through openapi-fetch.
 */

export { AgentryError, type ErrorBody } from './errors.ts';
export type {
  EvaluateOptions,
  Evaluation,
  Experiment,
  ExperimentItem,
  TargetContext,
} from './evaluate.ts';
export type { RunEvent, RunEventType } from './events.ts';
export type { paths } from './openapi.js';
export type { ResumeOptions, StreamOptions } from './stream.ts';

export interface ClientOptions extends ResumeOptions {
  /** The server, e.g. `http://127.0.0.1:7070`. */
  baseUrl: string;
  /** An API key (`agk_…`), sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** A fetch implementation other than the global one. */
  fetch?: (input: Request) => Promise<Response>;
}

type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'patch';
type PathsWith<M extends HttpMethod> = ClientPathsWithMethod<Client<paths>, M>;
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
/** The init argument is required only when the route has required parameters or a required body. */
type InitArg<I> = RequiredKeys<I> extends never ? [init?: I] : [init: I];
/** A success answer's body; `undefined` for answers without one (204). */
type Data<Op extends Record<string | number, unknown>, I> =
  NonNullable<FetchResponse<Op, I, `${string}/${string}`>['data']> extends infer D
    ? [D] extends [never]
      ? undefined
      : D
    : never;

/** Calls one route and answers its success body; any other answer throws an `AgentryError`. */
type Method<M extends HttpMethod> = <P extends PathsWith<M>, I extends MaybeOptionalInit<paths[P], M>>(
  path: P,
  ...init: InitArg<I>
) => Promise<Data<paths[P][M] & Record<string | number, unknown>, I>>;

type ChatBody = Omit<
  paths['/v1/agents/{id}/chat']['post']['requestBody']['content']['application/json'],
  'stream'
>;

export interface AgentryClient {
  GET: Method<'get'>;
  POST: Method<'post'>;
  PUT: Method<'put'>;
  PATCH: Method<'patch'>;
  DELETE: Method<'delete'>;
  /** The openapi-fetch client underneath: answers `{ data, error, response }` instead of throwing. */
  raw: Client<paths>;
  /**
   * Sends a message to an agent and yields the run's events as they come, until its `session_end`.
   * A dropped connection is resumed from the last event received (see `followRun`).
   */
  chat(
    agentId: string,
    body: ChatBody,
    options?: Pick<StreamOptions, 'signal'>,
  ): AsyncGenerator<RunEvent, void, undefined>;
  /**
   * A run's events (`GET /v1/runs/{id}/stream`): replayed from its start, or after `lastEventId`,
   * then live until its `session_end`; reconnects by `Last-Event-ID` when the connection drops.
   */
  followRun(runId: string, options?: StreamOptions): AsyncGenerator<RunEvent, void, undefined>;
  /**
   * Evaluates the caller's own function over a dataset: an experiment with subject `external`
   * whose items run here (`target(input)`, `concurrency` at a time) and are scored on the server
   * by its evaluators. Answers the experiment as it ended (with its summary) and its items.
   */
  evaluate(options: EvaluateOptions): Promise<Evaluation>;
}

export function createClient(options: ClientOptions): AgentryClient {
  const raw = createFetchClient<paths>({
    baseUrl: options.baseUrl,
    headers: {
      ...options.headers,
      ...(options.apiKey && { authorization: `Bearer ${options.apiKey}` }),
    },
    ...(options.fetch && { fetch: options.fetch }),
  });

  const method = <M extends HttpMethod>(name: Uppercase<M>): Method<M> =>
    // biome-ignore lint/suspicious/noExplicitAny: the route's types are checked at the call (Method<M>)
    (async (path: string, init?: any) => {
      // biome-ignore lint/suspicious/noExplicitAny: as above
      const r = await (raw[name] as any)(path, init);
      if (!r.response.ok) throw AgentryError.fromAnswer(r.response, r.error);
      return r.data;
    }) as Method<M>;

  /** A stream's answer, or the error it stands for. */
  const streamed = async (r: { response: Response; error?: unknown }) => {
    if (!r.response.ok) throw AgentryError.fromAnswer(r.response, r.error);
    return r.response;
  };

  const reopen =
    (runId: string): Opener =>
    async (signal, lastEventId) =>
      streamed(
        await raw.GET('/v1/runs/{id}/stream', {
          params: { path: { id: runId } },
          parseAs: 'stream',
          signal,
          headers: {
            accept: 'text/event-stream',
            ...(lastEventId !== undefined && { 'last-event-id': String(lastEventId) }),
          },
        }),
      );

  const GET = method<'get'>('GET');
  const POST = method<'post'>('POST');
  return {
    GET,
    POST,
    PUT: method('PUT'),
    PATCH: method('PATCH'),
    DELETE: method('DELETE'),
    raw,
    chat(agentId, body, o = {}) {
      const first: Opener = async (signal) =>
        streamed(
          await raw.POST('/v1/agents/{id}/chat', {
            params: { path: { id: agentId } },
            body: { ...body, stream: true },
            parseAs: 'stream',
            signal,
            headers: { accept: 'text/event-stream' },
          }),
        );
      return resumableRunEvents(first, reopen, { ...options, ...o });
    },
    followRun(runId, o = {}) {
      return resumableRunEvents(reopen(runId), reopen, { ...options, ...o, runId });
    },
    evaluate: (o) =>
      evaluate(
        {
          createExperiment: (body) => POST('/v1/experiments', { body }),
          items: (id, query) => GET('/v1/experiments/{id}/items', { params: { path: { id }, query } }),
          report: (id, itemId, body) =>
            POST('/v1/experiments/{id}/items/{item_id}/output', {
              params: { path: { id, item_id: itemId } },
              body,
            }),
          experiment: (id) => GET('/v1/experiments/{id}', { params: { path: { id } } }),
          cancel: (id) => POST('/v1/experiments/{id}/cancel', { params: { path: { id } } }),
        },
        o,
      ),
  };
}
