/**
 * Reads V8 CPU profiles (`node --cpu-prof`, or `--prof-dir` of bench/gateway.ts) and prints where the
 * time went: the functions with the most self time, and self time by package or source folder, so
 * a change to the hot path is judged by its share of CPU, not by timings on a busy machine.
 *
 * With allocation profiles (`.heapprofile`) it also prints where the bytes are allocated.
 *
 *   node --import tsx bench/cpu-top.ts <file.cpuprofile | file.heapprofile | dir> [--top 30]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** `node_modules/openai/…` → `openai`; `/src/models/gateway.ts` → `src/models`; else the URL kind. */
function groupOf(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = /\/(src|bench|test)\/([^/]+)\//.exec(url);
  if (src) return `${src[1]}/${src[2]}`;
  if (url.startsWith('node:')) return url;
  return url === '' ? '(native/v8)' : url.replace(/^file:\/\//, '');
}

/** `file:///…/node_modules/openai/core.js` → `node_modules/openai/core.js`; likewise src/ and bench/. */
const shortUrl = (url: string) => url.replace(/^.*\/(node_modules|src|bench)\//, '$1/');

function summarise(files: string[], top: number): void {
  const self = new Map<string, number>();
  // Inclusive: a function's time with everything it called (each function once per sample).
  const inclusive = new Map<string, number>();
  const groups = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    // Each sample lasts until the next one: attribute its delta to the sampled node.
    for (let i = 0; i < p.samples.length; i++) {
      const node = byId.get(p.samples[i]!);
      const us = p.timeDeltas[i + 1] ?? 0;
      if (!node) continue;
      const f = node.callFrame;
      if (f.functionName === '(idle)') continue;
      total += us;
      const where = f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : '';
      const key = `${f.functionName || '(anonymous)'} ${where}`;
      self.set(key, (self.get(key) ?? 0) + us);
      const seen = new Set<string>();
      for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
        const cf = byId.get(id)!.callFrame;
        if (!cf.url || cf.url.startsWith('node:')) continue;
        const k = `${cf.functionName || '(anonymous)'} ${shortUrl(cf.url)}`;
        if (!seen.has(k)) {
          seen.add(k);
          inclusive.set(k, (inclusive.get(k) ?? 0) + us);
        }
      }
      const g = groupOf(f.url);
      groups.set(g, (groups.get(g) ?? 0) + us);
    }
  }
  const pct = (us: number) => `${((100 * us) / Math.max(1, total)).toFixed(1).padStart(5)}%`;
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  console.log(`busy CPU in ${files.length} profile(s): ${(total / 1000).toFixed(0)} ms\n`);
  console.log('self time by package / source folder');
  for (const [g, us] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${pct(us)} ${ms(us)}  ${g}`);
  }
  console.log('\nfunctions by self time');
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${pct(us)} ${ms(us)}  ${k}`);
  }
  console.log('\nfunctions by inclusive time (with their callees)');
  for (const [k, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${pct(us)} ${ms(us)}  ${k}`);
  }
}

interface HeapNode {
  callFrame: ProfileNode['callFrame'];
  selfSize: number;
  children: HeapNode[];
}

/**
 * A sampling allocation profile (`.heapprofile`, written beside the CPU profile by bench/gateway.ts):
 * bytes allocated by function and by package, collected or not. Allocation drives the young-generation
 * collector, whose pauses show up in the p99.
 */
function summariseHeap(files: string[], top: number): void {
  const self = new Map<string, number>();
  const groups = new Map<string, number>();
  let total = 0;
  const walk = (n: HeapNode) => {
    if (n.selfSize > 0) {
      const f = n.callFrame;
      const where = f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : '';
      const key = `${f.functionName || '(anonymous)'} ${where}`;
      self.set(key, (self.get(key) ?? 0) + n.selfSize);
      const g = groupOf(f.url);
      groups.set(g, (groups.get(g) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const c of n.children) walk(c);
  };
  for (const file of files) walk((JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode }).head);
  const pct = (b: number) => `${((100 * b) / Math.max(1, total)).toFixed(1).padStart(5)}%`;
  const mb = (b: number) => `${(b / 1e6).toFixed(1).padStart(7)} MB`;
  console.log(`\nallocated (sampled) in ${files.length} profile(s): ${(total / 1e6).toFixed(0)} MB\n`);
  console.log('allocation by package / source folder');
  for (const [g, b] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${pct(b)} ${mb(b)}  ${g}`);
  console.log('\nfunctions by bytes allocated');
  for (const [k, b] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${pct(b)} ${mb(b)}  ${k}`);
}

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '30' } },
  allowPositionals: true,
});
const paths = positionals.flatMap((p) =>
  statSync(p).isDirectory() ? readdirSync(p).map((f) => join(p, f)) : [p],
);
const files = paths.filter((f) => f.endsWith('.cpuprofile'));
const heaps = paths.filter((f) => f.endsWith('.heapprofile'));
if (files.length + heaps.length === 0) {
  console.error('usage: bench/cpu-top.ts <file.cpuprofile | file.heapprofile | dir> [--top 30]');
  process.exit(2);
}
if (files.length > 0) summarise(files, Number(values.top));
if (heaps.length > 0) summariseHeap(heaps, Number(values.top));
