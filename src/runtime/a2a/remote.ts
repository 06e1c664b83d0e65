import { setTimeout as sleep } from 'node:timers/promises';
import { type Message, type Part, Role, type Task, TaskState } from '@a2a-js/sdk';
import {
  type Client,
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from '@a2a-js/sdk/client';
import { AppError } from '../../errors.ts';
import { guardedFetch, OutboundError, type OutboundNetwork } from '../../net/outbound.ts';
import type { TraceHeaders } from '../../observability/spans.ts';
import { type BreakerOptions, CircuitBreaker } from '../../resilience/breaker.ts';
import { Deadline } from '../../resilience/deadline.ts';
import { AttemptFailure, guardedCall } from '../../resilience/guarded-call.ts';
import { parseRetryAfter, type RetryOptions } from '../../resilience/retry.ts';

/**
 * Calls to remote A2A agents with the SDK's client: the card at the agent's URL, then one
 * `SendMessage` that waits for the answer. Every request goes through the guarded outbound client
 * (SSRF rules with the tenant's allow-private switch, a deadline per exchange, a byte cap), carries
 * the run's trace context (`traceparent`, `tracestate`), the request id and the credentials the tenant's policy
 * names for the agent's host (`network.credentials`), and the whole call is retried on network
 * errors, timeouts, 429 and 5xx with full-jitter backoff behind a circuit breaker per agent URL, as
 * remote runtimes are (remote.ts). A task the remote leaves working is polled until it ends or the
 * deadline passes.
 */
export interface A2ARemoteOptions {
  timeout_ms: number;
  max_bytes: number;
  retries: RetryOptions;
  breaker: BreakerOptions;
}

export interface AskOptions {
  tenantId: string;
  signal: AbortSignal;
  requestId?: string;
  /** W3C trace context: the run's (or tool call's) span, and the caller's `tracestate` unchanged. */
  trace?: TraceHeaders;
}

/** What the remote agent answered, with its ids (to continue or look the task up). */
export interface RemoteAnswer {
  text: string;
  taskId?: string;
  contextId?: string;
  /** The remote task's state as A2A names it (`completed`, `input-required`…). */
  state: string;
}

const stateNames: Partial<Record<TaskState, string>> = {
  [TaskState.TASK_STATE_SUBMITTED]: 'submitted',
  [TaskState.TASK_STATE_WORKING]: 'working',
  [TaskState.TASK_STATE_COMPLETED]: 'completed',
  [TaskState.TASK_STATE_FAILED]: 'failed',
  [TaskState.TASK_STATE_CANCELED]: 'canceled',
  [TaskState.TASK_STATE_INPUT_REQUIRED]: 'input-required',
  [TaskState.TASK_STATE_REJECTED]: 'rejected',
  [TaskState.TASK_STATE_AUTH_REQUIRED]: 'auth-required',
};

const partsText = (parts: Part[]) =>
  parts
    .map((p) =>
      p.content?.$case === 'text'
        ? p.content.value
        : p.content?.$case === 'data'
          ? JSON.stringify(p.content.value)
          : '',
    )
    .filter(Boolean)
    .join('\n');

export class A2ARemotes {
  private readonly breakers = new Map<string, CircuitBreaker>();

  constructor(
    private readonly options: A2ARemoteOptions,
    /** The tenant policy's `network.allow_private_egress`. */
    private readonly allowPrivate: (tenantId: string) => Promise<boolean>,
    /** DNS and routing of the guarded client (tests only). */
    private readonly network?: OutboundNetwork,
    /** Headers the tenant's policy adds for a host (`network.credentials`, secrets from env or file). */
    private readonly credentials: (
      tenantId: string,
      host: string,
    ) => Promise<Record<string, string>> = async () => ({}),
  ) {}

  /** Sends `text` to the A2A agent whose card is at `cardUrl` and returns its answer; AppError 502/503/504 otherwise. */
  async ask(cardUrl: string, text: string, call: AskOptions): Promise<RemoteAnswer> {
    return guardedCall(
      `A2A agent ${cardUrl}`,
      this.breakerFor(cardUrl),
      this.options.retries,
      call.signal,
      () => this.once(cardUrl, text, call),
    );
  }

  /** One attempt: card, message, and polling while the remote task is still going. */
  private async once(cardUrl: string, text: string, call: AskOptions): Promise<RemoteAnswer> {
    // What the last HTTP exchange did, to tell a retryable failure from a refusal.
    const seen: { status?: number; retryAfter?: string | null; error?: OutboundError } = {};
    const guarded = guardedFetch({
      allowPrivate: () => this.allowPrivate(call.tenantId),
      timeoutMs: this.options.timeout_ms,
      maxBytes: this.options.max_bytes,
      maxRedirects: 3,
      network: this.network,
    });
    const fetchImpl = (async (input: string | URL, init: RequestInit = {}) => {
      const headers = new Headers(init.headers);
      for (const [name, value] of Object.entries(
        await this.credentials(call.tenantId, new URL(input).hostname),
      ))
        headers.set(name, value);
      if (call.trace) headers.set('traceparent', call.trace.traceparent);
      if (call.trace?.tracestate) headers.set('tracestate', call.trace.tracestate);
      if (call.requestId) headers.set('x-request-id', call.requestId);
      try {
        const res = await guarded(input, { ...init, headers, signal: init.signal ?? call.signal });
        seen.status = res.status;
        seen.retryAfter = res.headers.get('retry-after');
        return res;
      } catch (err) {
        if (err instanceof OutboundError) seen.error = err;
        throw err;
      }
    }) as typeof fetch;
    const deadline = new Deadline(this.options.timeout_ms, call.signal);
    try {
      const client = await this.client(cardUrl, fetchImpl);
      const sent = await client.sendMessage(
        {
          message: {
            messageId: crypto.randomUUID(),
            contextId: '',
            taskId: '',
            role: Role.ROLE_USER,
            parts: [
              {
                content: { $case: 'text', value: text },
                metadata: undefined,
                filename: '',
                mediaType: 'text/plain',
              },
            ],
            metadata: undefined,
            extensions: [],
            referenceTaskIds: [],
          },
        } as never,
        { signal: deadline.signal },
      );
      if ('messageId' in sent) return { text: partsText((sent as Message).parts), state: 'completed' };
      let task = sent as Task;
      // Bounded by the deadline: each poll waits a second, and the signal ends the wait.
      while (!isEnded(task.status?.state)) {
        await sleep(1000, undefined, { signal: deadline.signal });
        task = await client.getTask({ id: task.id } as never, { signal: deadline.signal });
      }
      return answerOf(task);
    } catch (err) {
      if (err instanceof AppError || call.signal.aborted) throw err;
      const message = (err as Error).message ?? String(err);
      if (seen.error) {
        const retryable = seen.error.kind === 'network' || seen.error.kind === 'timeout';
        throw new AttemptFailure(
          seen.error.message,
          retryable,
          seen.error.kind === 'timeout' ? 'timeout' : 'other',
        );
      }
      if (deadline.passed)
        throw new AttemptFailure(`no answer within ${this.options.timeout_ms} ms`, true, 'timeout');
      const status = seen.status ?? 0;
      const retryable = status === 429 || status >= 500;
      throw new AttemptFailure(
        message,
        retryable,
        'other',
        retryable ? parseRetryAfter(seen.retryAfter ?? null) : undefined,
      );
    } finally {
      deadline.clear();
    }
  }

  private async client(cardUrl: string, fetchImpl: typeof fetch): Promise<Client> {
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new JsonRpcTransportFactory({ fetchImpl, legacyCompat: { enabled: true } })],
        cardResolver: new DefaultAgentCardResolver({ fetchImpl, legacyCompat: { enabled: true } }),
      }),
    );
    // A URL naming the card itself is used as it is; a base URL gets the well-known path.
    if (/\.json(\?.*)?$/.test(new URL(cardUrl).pathname)) return factory.createFromUrl(cardUrl, '');
    return factory.createFromUrl(cardUrl.endsWith('/') ? cardUrl : `${cardUrl}/`);
  }

  private breakerFor(url: string): CircuitBreaker {
    let b = this.breakers.get(url);
    if (!b) {
      b = new CircuitBreaker(`a2a:${url}`, this.options.breaker);
      this.breakers.set(url, b);
    }
    return b;
  }
}

/** Ended, or waiting for someone: polling would not change it. */
const isEnded = (state: TaskState | undefined) =>
  state !== TaskState.TASK_STATE_SUBMITTED && state !== TaskState.TASK_STATE_WORKING;

function answerOf(task: Task): RemoteAnswer {
  const state = stateNames[task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED] ?? 'unknown';
  const said = task.status?.message ? partsText(task.status.message.parts) : '';
  const ids = { taskId: task.id, contextId: task.contextId, state };
  if (state === 'completed') {
    const artifacts = task.artifacts.map((a) => partsText(a.parts)).filter(Boolean);
    return { text: artifacts.join('\n') || said, ...ids };
  }
  if (state === 'input-required' || state === 'auth-required') {
    return { text: `The remote agent needs more input (${state}): ${said}`, ...ids };
  }
  throw new AppError(
    'bad_gateway',
    `the remote A2A task ${task.id} ended ${state}${said ? `: ${said}` : ''}`,
  );
}
