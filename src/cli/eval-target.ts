import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ExperimentItem } from '../eval/experiments/schema.ts';
import { type ApiClient, CliError } from './client.ts';

/** The caller's function: an item's input in, its output out (a string, or anything JSON). */
export type Target = (input: ExperimentItem['input']) => unknown;

/** Loads `--target`: a module (ESM, resolved from the working directory) whose default export is the function. */
export async function loadTarget(file: string): Promise<Target> {
  const url = pathToFileURL(path.resolve(file)).href;
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (err) {
    throw new CliError(`--target ${file}: could not load it: ${(err as Error).message}`);
  }
  if (typeof mod.default !== 'function')
    throw new CliError(`--target ${file}: its default export must be a function of an item's input`);
  return mod.default as Target;
}

/**
 * Runs the target on each pending item of an experiment with subject `external`, `concurrency` at a
 * time, and reports each output (or what it threw) with its latency; the server scores them. A
 * report that cannot be made cancels the experiment (the items left would wait for nobody).
 */
export async function runTarget(
  client: ApiClient,
  experimentId: string,
  target: Target,
  concurrency: number,
): Promise<void> {
  const items: ExperimentItem[] = [];
  for await (const item of client.list<ExperimentItem>(`/v1/experiments/${experimentId}/items`, {
    status: 'pending',
  }))
    items.push(item);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      const started = performance.now();
      let body: Record<string, unknown>;
      try {
        const out = await target(item.input);
        body = { output: typeof out === 'string' ? out : out === undefined ? null : JSON.stringify(out) };
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        body = { error: { code: (e.name || 'Error').slice(0, 100), message: e.message.slice(0, 10_000) } };
      }
      body.latency_ms = performance.now() - started;
      await client.request('POST', `/v1/experiments/${experimentId}/items/${item.id}/output`, { body });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  } catch (err) {
    // The report that failed is what to tell; a cancel that fails too leaves the items waiting.
    await client.request('POST', `/v1/experiments/${experimentId}/cancel`).catch((cancel: unknown) => {
      process.stderr.write(
        `could not cancel experiment ${experimentId} (${(cancel as Error).message}): cancel it with POST /v1/experiments/${experimentId}/cancel\n`,
      );
    });
    throw err;
  }
}
