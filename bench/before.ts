import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Runs the same bench script of another checkout (`--before DIR`: main, a tag, a colleague's
 * branch) with the same arguments, in a child process on that checkout's own code, and returns the
 * JSON line it ends with. "Before" figures taken this way are of the code as it was, measured in the
 * same session as the ones after, not remembered from an older run on another load.
 */
export function runOtherCheckout(
  dir: string,
  script: string,
  argv: readonly string[],
): Record<string, unknown> {
  const file = path.resolve(dir, script);
  if (!existsSync(file))
    throw new Error(`${file} does not exist: --before takes a checkout of this repository`);
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--before') i += 1;
    else if (!argv[i]!.startsWith('--before=')) args.push(argv[i]!);
  }
  // tsx from this checkout's node_modules: the other one may have none of its own.
  const child = spawnSync(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: process.cwd(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (child.status !== 0) throw new Error(`${file} exited with ${child.status}`);
  const last = child.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as Record<string, unknown>;
}

/** p50 of a "p50 / p99" cell. */
const p50 = (cell: unknown) => Number(String(cell).split('/')[0]);

/** Before and after p50 of each timed column, row by row (matched on store and size), with after/before. */
export function compareRows(
  before: readonly Record<string, unknown>[],
  after: readonly Record<string, unknown>[],
  columns: readonly string[],
): Record<string, unknown>[] {
  return after.map((a) => {
    const b = before.find((r) => r.store === a.store && r.chunks === a.chunks);
    const row: Record<string, unknown> = { store: a.store, chunks: a.chunks };
    for (const c of columns) {
      const [x, y] = [p50(b?.[c]), p50(a[c])];
      row[c] = b ? `${x} → ${y} (${(y / x).toFixed(2)}×)` : `${y}`;
    }
    return row;
  });
}
