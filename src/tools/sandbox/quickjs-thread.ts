import { constants, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import {
  compileQuickJs,
  disposeInterpreter,
  type EvaluateRequest,
  evaluate,
  type PreparedInterpreter,
  prepareInterpreter,
} from './quickjs-engine.ts';
import type { SandboxLimits } from './types.ts';

/** Messages between the main thread and a QuickJS worker thread (quickjs.ts is the other side). */
export type ToThread = { type: 'prepare' } | { type: 'run'; request: EvaluateRequest } | { type: 'discard' };
export type FromThread =
  | { type: 'prepared' }
  | { type: 'result'; result: import('./types.ts').ExecuteResult }
  | { type: 'failed'; message: string };

export interface ThreadData {
  limits: SandboxLimits;
  /** Shared flag the main thread sets to 1 to cancel the running program. */
  cancel: SharedArrayBuffer;
}

// The worker side: one interpreter prepared ahead, one program run in it, then it is thrown away.
// Evaluation blocks this thread only; the main thread keeps serving requests.
if (parentPort) {
  const port = parentPort;
  // On Linux a priority set for "pid 0" applies to the calling thread alone: untrusted programs
  // spinning here yield the cores to the server's own threads (its event loop first).
  setPriority(0, constants.priority.PRIORITY_LOW);
  const { limits, cancel } = workerData as ThreadData;
  const cancelFlag = new Int32Array(cancel);
  const wasm = compileQuickJs();
  let prepared: PreparedInterpreter | undefined;
  const post = (message: FromThread) => port.postMessage(message);

  port.on('message', async (message: ToThread) => {
    try {
      if (message.type === 'prepare') {
        prepared = await prepareInterpreter(await wasm, limits);
        post({ type: 'prepared' });
      } else if (message.type === 'run') {
        if (!prepared) throw new Error('no interpreter prepared');
        const interpreter = prepared;
        prepared = undefined;
        try {
          post({ type: 'result', result: evaluate(interpreter, limits, message.request, cancelFlag) });
        } finally {
          disposeInterpreter(interpreter);
        }
      } else if (prepared) {
        disposeInterpreter(prepared);
        prepared = undefined;
      }
    } catch (err) {
      post({ type: 'failed', message: (err as Error).message });
    }
  });
}
