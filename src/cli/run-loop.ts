import { Command } from 'commander';
import { action } from './fail.ts';
import { runQueue, type StoreFlags, withConcurrencyFlag, withStoreFlags } from './worker.ts';

export function runLoopCommand(): Command {
  return withConcurrencyFlag(
    withStoreFlags(new Command('run-loop'))
      .description(
        'Keep processing tasks until stopped; woken by new tasks, polling at most every --sleep-seconds',
      )
      .option('--sleep-seconds <s>', 'longest idle wait between looks at the queue', '10'),
  ).action(
    action(async (opts: StoreFlags & { sleepSeconds: string; concurrency?: string }) => {
      const sleep = Number(opts.sleepSeconds);
      if (!(sleep > 0))
        throw new Error(`--sleep-seconds must be a positive number, not "${opts.sleepSeconds}"`);
      await runQueue(opts, { poll_seconds: sleep }, 'run-loop');
    }),
  );
}
