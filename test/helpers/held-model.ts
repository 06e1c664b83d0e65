import type { ProviderCall } from '../../src/models/provider.ts';
import type { MockProvider } from '../../src/models/providers/mock.ts';
import { eventually } from './eventually.ts';

/**
 * Holds every call of one mock model (`mock/<model>`) until the test lets it through: a task or run
 * stays working exactly as long as the test needs it to, on a loaded machine too, and ends as soon as
 * it is let go (a fixed delay does both worse). A held call whose run is cancelled goes on at once,
 * and the mock then refuses it as aborted, as it does a cancelled delay.
 */
export function holdModel(mock: MockProvider, model: string) {
  const waiting: Array<() => void> = [];
  let open = false;
  const pass = async (call: ProviderCall) => {
    if (open || call.request.model !== model || call.signal.aborted) return;
    await new Promise<void>((resolve) => {
      const go = () => {
        call.signal.removeEventListener('abort', go);
        const at = waiting.indexOf(go);
        if (at >= 0) waiting.splice(at, 1);
        resolve();
      };
      waiting.push(go);
      call.signal.addEventListener('abort', go, { once: true });
    });
  };
  const complete = mock.complete.bind(mock);
  const stream = mock.stream.bind(mock);
  mock.complete = async (call) => {
    await pass(call);
    return complete(call);
  };
  mock.stream = async function* (call) {
    await pass(call);
    yield* stream(call);
  };
  return {
    /** Waits until `n` calls are held, then lets the first of them through (oldest first). */
    async releaseOne(n = 1): Promise<void> {
      await eventually(async () => (waiting.length >= n ? true : undefined), 30_000, `${n} held calls`);
      waiting[0]!();
    },
    /** Holds the calls that come from now on. */
    hold(): void {
      open = false;
    },
    /** Lets every held call through, and every later one until `hold`. */
    open(): void {
      open = true;
      for (const go of [...waiting]) go();
    },
  };
}
