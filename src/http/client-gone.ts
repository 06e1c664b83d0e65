import type { ServerResponse } from 'node:http';
import { CallSignal } from '../models/call-signal.ts';

/**
 * Aborts when the client goes away before its response is complete: the signal a model call gets
 * from the chat completions route (a CallSignal, not an AbortController per request).
 */
export function clientGone(res: ServerResponse): CallSignal {
  const signal = new CallSignal();
  // 'close' comes once; `on` spares the wrapper `once` makes per request.
  res.on('close', () => {
    if (!res.writableFinished) signal.abort(new Error('client disconnected'));
  });
  return signal;
}
