import type { paths } from './openapi.js';

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;
type CreateBody = NonNullable<paths['/v1/experiments']['post']['requestBody']>['content']['application/json'];
type ReportBody = NonNullable<
  paths['/v1/experiments/{id}/items/{item_id}/output']['post']['requestBody']
>['content']['application/json'];
export type Experiment = Json<paths['/v1/experiments/{id}']['get']['responses'][200]>;
export type ExperimentItem = Json<
  paths['/v1/experiments/{id}/items']['get']['responses'][200]
>['data'][number];

/** What the target is given beside the item's input. */
export interface TargetContext {
  /** The experiment item it answers, and its place in the dataset. */
  itemId: string;
  seq: number;
  /** Ties the output to the trace of the target's own spans (32 hex digits, as OTLP sends them). */
  setTraceId(traceId: string): void;
}

export interface EvaluateOptions {
  /** A dataset id or name. */
  dataset: string;
  /** The caller's function: takes an item's input, answers its output (a string, or anything JSON, sent as JSON). */
  target: (input: ExperimentItem['input'], context: TargetContext) => unknown;
  /** The evaluators that score each output on the server, as `POST /v1/experiments` takes them. */
  evaluators: CreateBody['evaluators'];
  /** Target calls at once, in this process (default 4). */
  concurrency?: number;
  name?: string;
  split?: string;
  dataset_version?: number;
  /** Called as each item is recorded and scored (progress). */
  onItem?: (item: ExperimentItem, done: number, total: number) => void;
  /** Stops handing out items; the experiment is cancelled and the call rejects. */
  signal?: AbortSignal;
}

export interface Evaluation {
  /** The experiment as it ended, with its summary. */
  experiment: Experiment;
  items: ExperimentItem[];
}

/** The calls `evaluate` makes, as the typed client's methods make them. */
export interface EvaluateApi {
  createExperiment(body: CreateBody): Promise<{ id: string }>;
  items(
    id: string,
    query: { status?: 'pending'; limit: number; offset: number },
  ): Promise<{
    data: ExperimentItem[];
    total: number;
  }>;
  report(id: string, itemId: string, body: ReportBody): Promise<ExperimentItem>;
  experiment(id: string): Promise<Experiment>;
  cancel(id: string): Promise<unknown>;
}

const PAGE = 500;
/** A report that failed on the way (the network, a 5xx) is sent again: the first report of an item wins. */
const REPORT_ATTEMPTS = 3;
const TRACE_ID = /^[0-9a-f]{32}$/;

/**
 * Evaluates the caller's own function: creates an experiment with subject `external`, runs `target`
 * on each item's input here, `concurrency` at a time, and reports each output (or the error it threw)
 * with its latency to the server, where the experiment's evaluators score it: the same progress
 * stream, summary and comparison as an agent's experiment. If this call stops early (its signal, a
 * report it cannot make), it cancels the experiment; a process that dies leaves the items pending
 * until someone cancels it (`POST /v1/experiments/{id}/cancel`) or resumes reporting.
 */
export async function evaluate(api: EvaluateApi, o: EvaluateOptions): Promise<Evaluation> {
  const concurrency = o.concurrency ?? 4;
  const { id } = await api.createExperiment({
    dataset: o.dataset,
    subject: 'external',
    evaluators: o.evaluators,
    concurrency,
    ...(o.name !== undefined && { name: o.name }),
    ...(o.split !== undefined && { split: o.split }),
    ...(o.dataset_version !== undefined && { dataset_version: o.dataset_version }),
  });
  try {
    const pending = await allItems(api, id, 'pending');
    let next = 0;
    let done = 0;
    const lane = async () => {
      while (next < pending.length) {
        o.signal?.throwIfAborted();
        const item = pending[next++]!;
        const recorded = await reportWithRetry(api, id, item.id, await runTarget(o.target, item));
        o.onItem?.(recorded, ++done, pending.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, pending.length) }, lane));
  } catch (err) {
    // The error that stopped us is the one to report; a cancel that fails too leaves the items waiting.
    await api.cancel(id).catch((cancel: unknown) => {
      console.warn(`@agentry/client: could not cancel experiment ${id}: ${(cancel as Error).message}`);
    });
    throw err;
  }
  return { experiment: await api.experiment(id), items: await allItems(api, id) };
}

/** Runs the target on one item and measures it; what it throws becomes the item's error. */
async function runTarget(target: EvaluateOptions['target'], item: ExperimentItem): Promise<ReportBody> {
  let traceId: string | undefined;
  const context: TargetContext = {
    itemId: item.id,
    seq: item.seq,
    setTraceId(t) {
      if (!TRACE_ID.test(t)) throw new TypeError(`a trace id is 32 lowercase hex digits, not "${t}"`);
      traceId = t;
    },
  };
  const started = performance.now();
  try {
    const out = await target(item.input, context);
    return {
      output: typeof out === 'string' ? out : out === undefined ? null : JSON.stringify(out),
      latency_ms: performance.now() - started,
      ...(traceId && { trace_id: traceId }),
    };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return {
      error: { code: (e.name || 'Error').slice(0, 100), message: e.message.slice(0, 10_000) },
      latency_ms: performance.now() - started,
      ...(traceId && { trace_id: traceId }),
    };
  }
}

async function reportWithRetry(
  api: EvaluateApi,
  id: string,
  itemId: string,
  body: ReportBody,
): Promise<ExperimentItem> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await api.report(id, itemId, body);
    } catch (err) {
      const status = (err as { status?: number }).status;
      const retriable = status === undefined || status === 0 || status >= 500;
      if (!retriable || attempt >= REPORT_ATTEMPTS) throw err;
    }
  }
}

async function allItems(api: EvaluateApi, id: string, status?: 'pending'): Promise<ExperimentItem[]> {
  const out: ExperimentItem[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await api.items(id, { ...(status && { status }), limit: PAGE, offset });
    out.push(...page.data);
    if (page.data.length < PAGE || out.length >= page.total) return out;
  }
}
