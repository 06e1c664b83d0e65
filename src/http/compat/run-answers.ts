import { z } from 'zod';
import { AppError, type ErrorCode } from '../../errors.ts';
import type { RunResult } from '../../runtime/execute.ts';
import type { RunHandle } from '../../runtime/runtime.ts';

/** A compat call's answer text, or the error a run that did not complete answers with. */
export function completedText(handle: RunHandle, r: RunResult, waiting: ErrorCode): string {
  if (r.status === 'completed') return r.text;
  const message = r.status === 'input_required' ? 'the agent waits for approval' : r.error.message;
  throw new AppError(r.status === 'input_required' ? waiting : 'bad_gateway', message, {
    details: { run_id: handle.runId },
  });
}

/** isA's chat answer (a streamed run answers with Server-Sent Events instead). */
export const isaAnswer = z.object({
  status: z.string(),
  response: z.object({ success: z.boolean(), result: z.object({ response: z.string().nullable() }) }),
  session_id: z.string(),
  run_id: z.string(),
});

/** A run's outcome as isA's chat answers it: `success`, `input_required` or `error`. */
export async function isaResult(handle: RunHandle): Promise<z.infer<typeof isaAnswer>> {
  const r = await handle.result();
  const ok = r.status === 'completed';
  return {
    status: ok ? 'success' : r.status === 'input_required' ? 'input_required' : 'error',
    response: {
      success: ok,
      result: { response: ok ? r.text : r.status === 'input_required' ? null : r.error.message },
    },
    session_id: handle.sessionId,
    run_id: handle.runId,
  };
}
