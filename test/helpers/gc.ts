import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Runs a full garbage collection every `everyMs` until the returned function is called: what a
 * busy process does at some moment, made certain. `--expose-gc` set at run time gives a fresh
 * context its `gc`.
 */
export function collectGarbageEvery(everyMs: number): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const timer = setInterval(gc, everyMs);
  return () => clearInterval(timer);
}
