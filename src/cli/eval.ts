import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import type { Experiment, ExperimentItem, Summary } from '../eval/experiments/schema.ts';
import { ApiClient, CliError, type ClientOptions, parseJsonFlag, withClientOptions } from './client.ts';
import { loadTarget, runTarget } from './eval-target.ts';
import { readEventStream } from './event-stream.ts';
import { action } from './fail.ts';
import { type JunitCase, junitXml } from './junit.ts';
import { formatTable, printJson } from './output.ts';

interface RunFlags extends ClientOptions {
  dataset: string;
  split?: string;
  agent?: string;
  team?: string;
  target?: string;
  evaluator: string[];
  name?: string;
  concurrency?: string;
  failUnder?: string;
  junit?: string;
  pollMs?: string;
}

type Finished = Experiment & { summary: Summary };

/**
 * The score is under `--fail-under`: exit 1. Whatever else stops the command exits 2 (credentials,
 * the network, bad flags or names, an experiment that did not complete): CI can tell a regression
 * from a job that could not judge.
 */
class UnderTheBar extends CliError {}
const exitCodeOf = (err: unknown) => (err instanceof UnderTheBar ? 1 : 2);

/** `exact_match`, or a JSON object (`{"type":"contains","value":"said"}`). */
function evaluatorFlag(value: string): unknown {
  const trimmed = value.trim();
  if (trimmed.startsWith('{')) return parseJsonFlag('--evaluator', trimmed);
  if (!/^[a-z_]+$/.test(trimmed))
    throw new CliError(`--evaluator "${value}": expected a type name (exact_match) or a JSON object`);
  return { type: trimmed };
}

function number(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new CliError(`${flag} must be a number from ${min} to ${max}`);
  return n;
}

/**
 * An item's score: the mean of its evaluators' scores, an evaluator that errored counting 0; an
 * item whose run did not complete scores 0. The experiment's score is the mean over its items.
 */
export function itemScore(item: Pick<ExperimentItem, 'status' | 'scores'>): number {
  if (item.status !== 'completed' || item.scores.length === 0) return 0;
  return item.scores.reduce((t, s) => t + (s.score ?? 0), 0) / item.scores.length;
}

const round = (n: number) => Math.round(n * 1e4) / 1e4;

/** What the progress line shows of an experiment. */
type Progress = Pick<Experiment, 'status'> & {
  progress: Pick<Experiment['progress'], 'total' | 'completed' | 'errors' | 'fraction'>;
};

/** The progress line: a bar on a terminal, a plain line per change otherwise (CI logs). */
function progress(e: Progress, tty: boolean): string {
  const { total, completed, errors, fraction } = e.progress;
  const text = `${completed + errors}/${total} items (${errors} errors) ${e.status}`;
  if (!tty) return `${text}\n`;
  const width = 30;
  const full = Math.round(fraction * width);
  return `\r[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${text}`;
}

/**
 * Reports the experiment's progress until it ends, and answers it finished: from its event stream
 * (a line per item as it is recorded), or, when the stream cannot be read or drops, by reading the
 * experiment every `pollMs`.
 */
async function follow(client: ApiClient, id: string, pollMs: number): Promise<Finished> {
  const tty = process.stderr.isTTY === true;
  let last = '';
  const show = (e: Progress) => {
    const line = progress(e, tty);
    if (line !== last) process.stderr.write(line);
    last = line;
  };
  const ended = await followStream(client, id, show).catch((err: unknown) => {
    // The stream is a convenience: a proxy that refuses it, or a dropped connection, leaves the poll.
    process.stderr.write(`${tty ? '\n' : ''}(progress by polling: ${(err as Error).message})\n`);
    return false;
  });
  for (;;) {
    const e = await client.get<Finished>(`/v1/experiments/${id}`);
    show(e);
    if (e.status !== 'running') {
      if (tty) process.stderr.write('\n');
      return e;
    }
    if (ended) throw new CliError(`experiment ${id}: its stream ended but it is still running`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * Progress from the experiment's event stream, which replays every item recorded so far and then
 * follows it live; resolves true once the stream says the experiment has ended.
 */
async function followStream(client: ApiClient, id: string, show: (e: Progress) => void): Promise<boolean> {
  const p = { completed: 0, errors: 0, total: 0 };
  const ended = await readEventStream(client.target, `/v1/experiments/${id}/stream`, (e) => {
    if (e.event === 'experiment.summary') return true;
    if (e.event !== 'experiment.item') return false;
    const item = JSON.parse(e.data) as { status: string; total: number };
    if (item.status === 'error') p.errors += 1;
    else p.completed += 1;
    p.total = item.total;
    const fraction = p.total ? (p.completed + p.errors) / p.total : 1;
    show({ status: 'running', progress: { ...p, fraction } });
    return false;
  });
  if (!ended) throw new Error('the stream closed before the experiment ended');
  return true;
}

function summaryText(e: Finished, score: number): string {
  const rows = e.summary.evaluators.map((v) => ({ ...v }));
  const table = formatTable(rows, [
    { header: 'evaluator', value: (v) => v.name, max: 30 },
    { header: 'type', value: (v) => v.evaluator },
    { header: 'mean', value: (v) => v.mean },
    { header: 'pass rate', value: (v) => v.pass_rate },
    { header: 'scored', value: (v) => v.scored },
    { header: 'errors', value: (v) => v.errors },
  ]);
  const { latency_ms: lat } = e.summary;
  return [
    `experiment ${e.id} (${e.name}): ${e.status}${e.stop_reason ? ` (${e.stop_reason})` : ''}`,
    `items: ${e.progress.completed} completed, ${e.progress.errors} errors, ${e.progress.total} total`,
    `score: ${score}  pass rate: ${e.summary.pass_rate ?? '-'}  latency p50/p95: ${lat.p50 ?? '-'}/${lat.p95 ?? '-'} ms  tokens: ${e.summary.tokens}  cost: ${e.summary.cost_usd} USD`,
    '',
    table,
  ].join('\n');
}

/**
 * A JUnit case per item: an error when its run did not complete; a failure when its score is under
 * `--fail-under` (given) or, without one, when any evaluator did not pass.
 */
function junitCase(item: ExperimentItem, failUnder: number | undefined): JunitCase {
  const input = 'message' in item.input ? item.input.message : item.input.task_type;
  const score = itemScore(item);
  const scores = item.scores.map(
    (s) =>
      `${s.name}: ${s.score ?? 'error'}${s.reason ? ` (${s.reason})` : ''}${s.error ? ` (${s.error})` : ''}`,
  );
  const failed =
    item.status === 'completed' &&
    (failUnder !== undefined ? score < failUnder : item.scores.some((s) => s.pass !== true));
  return {
    name: `#${item.seq} ${input.replace(/\s+/g, ' ').slice(0, 80)}`,
    time: (item.latency_ms ?? 0) / 1000,
    ...(item.status !== 'completed' && {
      error: item.error ? `${item.error.code}: ${item.error.message}` : `item ${item.status}`,
    }),
    ...(failed && {
      failure:
        failUnder !== undefined
          ? `score ${round(score)} is under ${failUnder}`
          : `failed: ${item.scores
              .filter((s) => s.pass !== true)
              .map((s) => s.name)
              .join(', ')}`,
    }),
    detail: [
      `output: ${item.output ?? '-'}`,
      ...scores,
      ...(item.run_id ? [`run: ${item.run_id}`] : []),
    ].join('\n'),
  };
}

function runCommand(): Command {
  return (
    withClientOptions(new Command('run'))
      .description(
        'Run an agent (NAME or NAME@VERSION), a team, or your own function (--target ./app.mjs, run here) over a dataset with evaluators, show progress and a summary; ' +
          'exit 0 when it passed, 1 when the score is under --fail-under, 2 when it could not run (credentials, network, bad input, an experiment that did not complete)',
      )
      .requiredOption('--dataset <name>', 'dataset name or id')
      .option('--split <tag>', 'run only the items with this tag (a split such as `test`)')
      .option('--agent <name[@version]>', 'agent name or id, `name@3` for version 3')
      .option('--team <name>', 'a team (multi-agent spec) name or id, instead of --agent')
      .option(
        '--target <module>',
        "your own function, instead of --agent: a module whose default export takes an item's input and returns its output; run in this process, scored by the server",
      )
      .requiredOption(
        '--evaluator <spec>',
        'an evaluator: a type (exact_match) or a JSON object ({"type":"contains","value":"x"}); repeatable',
        (v: string, all: string[] = []) => [...all, v],
      )
      .option('--name <name>', 'the experiment’s name')
      .option('--concurrency <n>', 'items running at once (1-64, default 4)')
      .option('--fail-under <score>', 'exit 1 when the mean item score (0-1) is below this')
      .option('--junit <file>', 'write JUnit XML: a test case per item')
      .option(
        '--poll-ms <ms>',
        'how often to read progress when its event stream cannot be followed (default 500)',
      )
      // Commander's own refusals (a missing or unknown flag) are bad input too.
      .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
      .action(
        action(async (opts: RunFlags) => {
          const failUnder = number('--fail-under', opts.failUnder, 0, 1);
          const concurrency = number('--concurrency', opts.concurrency, 1, 64);
          const pollMs = number('--poll-ms', opts.pollMs, 10, 60_000) ?? 500;
          if ([opts.agent, opts.team, opts.target].filter((x) => x !== undefined).length !== 1)
            throw new CliError('give one of --agent, --team or --target');
          // Loaded before anything is created: a module that cannot run leaves no experiment behind.
          const target = opts.target === undefined ? undefined : await loadTarget(opts.target);
          const client = ApiClient.from(opts);
          const created = await client.request<Experiment>('POST', '/v1/experiments', {
            body: {
              dataset: opts.dataset,
              ...(opts.split !== undefined && { split: opts.split }),
              ...(opts.agent !== undefined && { agent: opts.agent }),
              ...(opts.team !== undefined && { team: opts.team }),
              ...(target && { subject: 'external' }),
              evaluators: opts.evaluator.map(evaluatorFlag),
              ...(opts.name && { name: opts.name }),
              ...(concurrency !== undefined && { concurrency }),
            },
          });
          // Settled, never rejected: it is awaited only after the target has run, and a failure
          // meanwhile must not count as unhandled.
          const following = follow(client, created.id, pollMs).then(
            (experiment) => ({ experiment }),
            (error: unknown) => ({ error }),
          );
          if (target) {
            // Progress follows the experiment's stream while the items run here.
            const ran = await runTarget(client, created.id, target, concurrency ?? 4).then(
              () => undefined,
              (err: unknown) => err,
            );
            if (ran !== undefined) {
              // The target's failure is the one to report; the stream ends with the cancelled experiment.
              const followed = await following;
              if ('error' in followed)
                process.stderr.write(
                  `the progress stream also failed: ${followed.error instanceof Error ? followed.error.message : String(followed.error)}\n`,
                );
              throw ran;
            }
          }
          const followed = await following;
          if ('error' in followed) throw followed.error;
          const done = followed.experiment;
          const items: ExperimentItem[] = [];
          for await (const item of client.list<ExperimentItem>(`/v1/experiments/${done.id}/items`))
            items.push(item);
          const score = round(items.reduce((t, i) => t + itemScore(i), 0) / Math.max(1, items.length));
          if (opts.junit)
            writeFileSync(
              opts.junit,
              junitXml(
                done.name,
                items.map((i) => junitCase(i, failUnder)),
              ),
            );
          if (opts.json) printJson({ ...done, score });
          else process.stdout.write(summaryText(done, score));
          if (done.status !== 'completed')
            throw new CliError(
              `experiment ${done.id} ended ${done.status}${done.stop_reason ? `: ${done.stop_reason}` : ''}`,
            );
          if (failUnder !== undefined && score < failUnder)
            throw new UnderTheBar(`score ${score} is under --fail-under ${failUnder}`);
        }, exitCodeOf),
      )
  );
}

export function evalCommand(): Command {
  return new Command('eval').description('Evaluate agents over datasets').addCommand(runCommand());
}
