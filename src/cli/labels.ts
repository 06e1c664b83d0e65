import { Command } from 'commander';
import type { GateInput, Label, MoveResult } from '../eval/labels/schema.ts';
import { ApiClient, CliError, type ClientOptions, withClientOptions } from './client.ts';
import { action } from './fail.ts';
import { type Column, formatRecord, formatTable, print, shortTime } from './output.ts';

/** `agentry agents label …`: labels on an agent's versions and their release gates. */

const columns: Column<Label>[] = [
  { header: 'label', value: (l) => l.label },
  { header: 'version', value: (l) => l.version ?? '-' },
  { header: 'gate', value: (l) => (l.gate ? gateText(l.gate) : ''), max: 60 },
  { header: 'by', value: (l) => l.updated_by, max: 30 },
  { header: 'when', value: (l) => shortTime(l.updated_at) },
];

const gateText = (g: NonNullable<Label['gate']>) =>
  `${g.evaluator ?? 'mean'} >= ${g.threshold} on ${g.dataset}${g.split ? `/${g.split}` : ''}${Object.entries(
    g.floors,
  )
    .map(([n, f]) => `, ${n} >= ${f}`)
    .join('')}`;

const path = (agent: string, label?: string) =>
  `/v1/agents/${encodeURIComponent(agent)}/labels${label ? `/${encodeURIComponent(label)}` : ''}`;

/** A gate's refusal (409) is "under the bar": exit 1; anything that kept it from being asked, 2. */
const exitCodeOf = (err: unknown) => (err instanceof CliError && err.status === 409 ? 1 : 2);

export function labelCommand(): Command {
  const label = new Command('label').description(
    "Labels on an agent's versions (production, staging, …), used as name@label, and their release gates",
  );

  label.addCommand(
    withClientOptions(
      new Command('list').description("An agent's labels").argument('<agent>', 'agent id or name'),
    ).action(
      action(async (agent: string, opts: ClientOptions) => {
        const { data } = await ApiClient.from(opts).get<{ data: Label[] }>(path(agent));
        print(opts.json, data, () => formatTable(data, columns));
      }, exitCodeOf),
    ),
  );

  label.addCommand(
    withClientOptions(
      new Command('set')
        .description(
          "Point a label at a version; a gated label moves only when the version's experiment passes",
        )
        .argument('<agent>', 'agent id or name')
        .argument('<label>', 'production, staging, …')
        .argument('<version>', 'the version number')
        .option('--message <text>', 'a note kept in the journal'),
    ).action(
      action(
        async (agent: string, name: string, version: string, opts: ClientOptions & { message?: string }) => {
          const n = Number(version);
          if (!Number.isInteger(n) || n < 1)
            throw new CliError(`version must be a positive whole number, not "${version}"`);
          const moved = await ApiClient.from(opts).request<MoveResult>('PUT', path(agent, name), {
            body: { version: n, ...(opts.message !== undefined && { message: opts.message }) },
          });
          print(opts.json, moved, () => {
            const e = moved.evidence;
            return formatRecord([
              ['label', moved.label.label],
              ['version', `${moved.previous_version ?? '-'} -> ${moved.label.version}`],
              ...(e?.experiment
                ? ([
                    ['gate', gateText(e.gate)],
                    ['experiment', `${e.experiment.name} (${e.experiment.id})`],
                    ['score', `${e.score.of} = ${e.score.value}`],
                  ] as Array<[string, unknown]>)
                : []),
            ]);
          });
        },
        exitCodeOf,
      ),
    ),
  );

  label.addCommand(
    withClientOptions(
      new Command('rm')
        .description('Take a label off its version (a gated label keeps its gate)')
        .argument('<agent>', 'agent id or name')
        .argument('<label>', 'the label'),
    ).action(
      action(async (agent: string, name: string, opts: ClientOptions) => {
        await ApiClient.from(opts).request('DELETE', path(agent, name));
        print(opts.json, { label: name, removed: true }, () => `removed label ${name} of ${agent}\n`);
      }, exitCodeOf),
    ),
  );

  label.addCommand(
    withClientOptions(
      new Command('gate')
        .description("Set a label's release gate (admin key)")
        .argument('<agent>', 'agent id or name')
        .argument('<label>', 'the label')
        .requiredOption('--dataset <name>', 'the dataset the version must have been run on')
        .requiredOption('--threshold <number>', 'the score to reach')
        .option(
          '--split <tag>',
          'only experiments of this split of the dataset count (default: the whole dataset)',
        )
        .option('--evaluator <name>', 'the evaluator whose mean counts (default: the mean of all)')
        .option(
          '--floor <name=number>',
          'an evaluator that may not fall below its own floor (repeat for several)',
          (v: string, all: string[] = []) => [...all, v],
        ),
    ).action(
      action(
        async (
          agent: string,
          name: string,
          opts: ClientOptions & {
            dataset: string;
            split?: string;
            threshold: string;
            evaluator?: string;
            floor?: string[];
          },
        ) => {
          const body: GateInput = {
            dataset: opts.dataset,
            ...(opts.split !== undefined && { split: opts.split }),
            threshold: numberOf('--threshold', opts.threshold),
            ...(opts.evaluator !== undefined && { evaluator: opts.evaluator }),
            ...(opts.floor && { floors: floorsOf(opts.floor) }),
          };
          const set = await ApiClient.from(opts).request<Label>('PUT', `${path(agent, name)}/gate`, { body });
          print(opts.json, set, () => formatTable([set], columns));
        },
        exitCodeOf,
      ),
    ),
  );

  label.addCommand(
    withClientOptions(
      new Command('ungate')
        .description("Remove a label's release gate (admin key)")
        .argument('<agent>', 'agent id or name')
        .argument('<label>', 'the label'),
    ).action(
      action(async (agent: string, name: string, opts: ClientOptions) => {
        await ApiClient.from(opts).request('DELETE', `${path(agent, name)}/gate`);
        print(opts.json, { label: name, gate: null }, () => `removed the gate of ${agent}@${name}\n`);
      }, exitCodeOf),
    ),
  );

  return label;
}

function numberOf(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n))
    throw new CliError(`${flag} must be a number, not "${text}"`);
  return n;
}

function floorsOf(pairs: readonly string[]): Record<string, number> {
  const floors: Record<string, number> = {};
  for (const pair of pairs) {
    const eq = pair.lastIndexOf('=');
    if (eq < 1) throw new CliError(`--floor takes name=number, not "${pair}"`);
    floors[pair.slice(0, eq)] = numberOf('--floor', pair.slice(eq + 1));
  }
  return floors;
}
