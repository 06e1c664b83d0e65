import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { AppError, type ErrorCode } from '../../errors.ts';
import type { ModelCatalog } from '../../models/catalog.ts';
import type { RunHandle, Runtime } from '../../runtime/runtime.ts';
import type { RunResult } from '../../runtime/types.ts';

/**
 * Failures a client should wait out rather than report: a rate limit (429) or an open breaker or
 * unreachable store (503) answer with their own status and Retry-After, a timeout with 504; any
 * other failure of the agent's run is a 502.
 */
const passedThrough = new Set<ErrorCode>([
  'rate_limited',
  'unavailable',
  'store_unavailable',
  'gateway_timeout',
]);

/** A compat call's answer text, or the error a run that did not complete answers with. */
export function completedText(handle: RunHandle, r: RunResult, waiting: ErrorCode): string {
  if (r.status === 'completed') return r.text;
  const details = { run_id: handle.runId };
  if (r.status === 'input_required') throw new AppError(waiting, 'the agent waits for approval', { details });
  const code = r.error.code as ErrorCode;
  if (passedThrough.has(code)) {
    const retryAfter = r.cause instanceof AppError ? r.cause.retryAfter : undefined;
    throw new AppError(code, r.error.message, {
      details,
      retryAfter: retryAfter ?? (code === 'gateway_timeout' ? undefined : 1),
    });
  }
  throw new AppError('bad_gateway', r.error.message, { details });
}

/**
 * The run's result within `seconds` (a client's per-request timeout), else the run is cancelled and
 * the call answers 504. No timeout: the result whenever it comes.
 */
export async function resultWithin(
  runtime: Pick<Runtime, 'cancel'>,
  tenantId: string,
  handle: RunHandle,
  seconds: number | undefined,
): Promise<RunResult> {
  if (seconds === undefined) return handle.result();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), Math.round(seconds * 1000));
  });
  try {
    const first = await Promise.race([handle.result(), late]);
    if (first !== 'late') return first;
  } finally {
    clearTimeout(timer);
  }
  // The run may have ended meanwhile (nothing to cancel): the caller's answer is the 504 either way.
  await runtime
    .cancel(tenantId, handle.runId, `the request's timeout of ${seconds} s passed`)
    .catch(() => {});
  throw new AppError(
    'gateway_timeout',
    `the agent did not answer within the request's timeout of ${seconds} s`,
    {
      details: { run_id: handle.runId },
    },
  );
}

/** isA's chat answer (a streamed run answers with Server-Sent Events instead). */
export const isaAnswer = z.object({
  status: z.string(),
  response: z.object({ success: z.boolean(), result: z.object({ response: z.string().nullable() }) }),
  session_id: z.string(),
  run_id: z.string(),
  /** The model that answered (`mock/default` when the mock stood in for the model id asked for). */
  model: z.string().nullable(),
});

/** The header that says which model answered a compat call (its body says it too). */
export const MODEL_HEADER = 'x-agentry-model';

/** A run's outcome as isA's chat answers it: `success`, `input_required` or `error`. */
export async function isaResult(handle: RunHandle, reply?: FastifyReply): Promise<z.infer<typeof isaAnswer>> {
  const r = await handle.result();
  const ok = r.status === 'completed';
  if (ok) reply?.header(MODEL_HEADER, r.model);
  return {
    status: ok ? 'success' : r.status === 'input_required' ? 'input_required' : 'error',
    response: {
      success: ok,
      result: { response: ok ? r.text : r.status === 'input_required' ? null : r.error.message },
    },
    session_id: handle.sessionId,
    run_id: handle.runId,
    model: ok ? r.model : null,
  };
}

/**
 * Says, before a streamed answer starts, which model will answer the agent's run (the mock when it
 * stands in for the agent's model id); the stream's `result` event names the one that did.
 */
export function announceModel(reply: FastifyReply, catalog: Pick<ModelCatalog, 'resolve'>, model: string) {
  try {
    reply.raw.setHeader(MODEL_HEADER, catalog.resolve(model).id);
  } catch {
    // An unknown model: the run fails with the error that names it.
  }
}
