/**
 * `npm run eval:memory`: retrieval quality of knowledge-base search, per mode and per question
 * category, on the 40 paraphrased notes of test/memory/fixtures/notes-set.ts and, when a file is
 * given with --locomo, on a LoCoMo subset (one knowledge base per conversation, one document per
 * dialogue turn, `speaker: text`, the session's date in metadata and, with --dated, in the text).
 * Prints hit@5, recall@5 and MRR for text, vector and hybrid search (and for each --weights pair of
 * score fusion and each --rrf pair of weighted RRF), then one JSON line. Runs on PGlite in memory with the offline embedder (USE, ~70 ms a turn on one
 * core: the default run embeds ~800 turns, about a minute); `--conversations 30` halves it,
 * `--no-vectors` runs full-text alone in seconds.
 *
 *   npm run eval:memory -- [--locomo FILE] [--conversations 26,30] [--weights 1:2,1:4] [--rrf 1:0.3] [--dated] [--no-vectors]
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { migrate } from '../src/db/migrate.ts';
import { PgliteDb } from '../src/db/pglite.ts';
import { OfflineEmbedder } from '../src/memory/embeddings.ts';
import {
  defaultVariants,
  type EvalSet,
  evaluate,
  notesSet,
  type Variant,
  type VariantScores,
} from '../test/helpers/retrieval-quality.ts';

/**
 * LoCoMo (Maharana et al., ACL 2024), a long-conversation memory benchmark whose turns carry the
 * evidence labels of its questions. Its data is licensed CC BY-NC 4.0, which this Apache-2.0
 * project does not ship; a user passes the released `data/locomo10.json` itself (or a subset shaped
 * as `LocomoSubset`). Questions without evidence (2 of conversation 26's) are left out.
 */
interface LocomoRelease {
  sample_id: string;
  conversation: Record<string, unknown>;
  qa: { question: string; category: number; evidence?: string[] }[];
}
interface LocomoSubset {
  conversations: {
    id: string;
    sessions: { date: string; turns: [id: string, speaker: string, text: string][] }[];
    qa: [question: string, category: number, evidence: string[]][];
  }[];
}
type LocomoTurn = { dia_id: string; speaker: string; text: string };
/** LoCoMo's category numbers, named as in the released data. */
const categories = ['', 'multi-hop', 'temporal', 'open-domain', 'single-hop', 'adversarial'];

/** The released file's shape brought to the subset's: sessions in order, each with its date. */
function fromRelease(raw: LocomoRelease[]): LocomoSubset {
  return {
    conversations: raw.map((c) => {
      const conv = c.conversation;
      const sessions: LocomoSubset['conversations'][number]['sessions'] = [];
      for (let n = 1; Array.isArray(conv[`session_${n}`]); n++)
        sessions.push({
          date: String(conv[`session_${n}_date_time`] ?? ''),
          turns: (conv[`session_${n}`] as LocomoTurn[]).map((t) => [t.dia_id, t.speaker, t.text]),
        });
      return {
        id: c.sample_id.replace(/^conv-/, ''),
        sessions,
        qa: c.qa.map((q) => [q.question, q.category, q.evidence ?? []]),
      };
    }),
  };
}

function locomoSets(file: string | undefined, only?: readonly string[]): EvalSet[] {
  if (!file || !existsSync(file)) return [];
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as LocomoRelease[] | LocomoSubset;
  const raw = Array.isArray(parsed) ? fromRelease(parsed) : parsed;
  return raw.conversations
    .filter((c) => !only || only.includes(c.id))
    .map((c) => ({
      name: `locomo-${c.id}`,
      documents: c.sessions.flatMap((s) =>
        s.turns.map(([id, speaker, text]) => ({
          source: id,
          text: args.dated ? `[${s.date}] ${speaker}: ${text}` : `${speaker}: ${text}`,
          metadata: { speaker, date: s.date },
        })),
      ),
      questions: c.qa
        .filter(([, , evidence]) => evidence.length > 0)
        .map(([query, category, evidence]) => ({
          query,
          category: categories[category] ?? String(category),
          // A few labels name two turns in one string ("D8:6; D9:17").
          evidence: evidence.flatMap((e) => e.split(/[;,\s]+/)).filter(Boolean),
        })),
    }));
}

const { values: args } = parseArgs({
  options: {
    locomo: { type: 'string', default: process.env.AGENTRY_LOCOMO_FILE },
    conversations: { type: 'string' },
    weights: { type: 'string' },
    rrf: { type: 'string' },
    dated: { type: 'boolean', default: false },
    'no-vectors': { type: 'boolean', default: false },
  },
});

const embedder = args['no-vectors'] ? undefined : new OfflineEmbedder();
const variants: Variant[] = args['no-vectors'] ? [defaultVariants[0]!] : [...defaultVariants];
for (const fusion of ['score', 'rrf'] as const)
  for (const pair of (fusion === 'score' ? args.weights : args.rrf)?.split(',') ?? []) {
    const [text, vector] = pair.split(':').map(Number);
    variants.push({
      name: `hybrid ${fusion} ${text}:${vector}`,
      search: { mode: 'hybrid', fusion, weights: { text: text!, vector: vector! } },
    });
  }

const sets = locomoSets(args.locomo, args.conversations?.split(','));
if (sets.length === 0) console.log('LoCoMo: no subset file given (--locomo FILE); the notes set only');
sets.push(notesSet);

const fmt = (s: { hit5: number; recall5: number; mrr: number; n: number }) =>
  `${s.hit5.toFixed(3)}  ${s.recall5.toFixed(3)}  ${s.mrr.toFixed(3)}  ${String(s.n).padStart(4)}`;

/** Scores of several sets merged, weighted by their question counts. */
function merge(rows: VariantScores[][]): VariantScores[] {
  return rows[0]!.map((first, i) => {
    const cats = new Map<string, { n: number; hit5: number; recall5: number; mrr: number }>();
    const add = (key: string, s: { n: number; hit5: number; recall5: number; mrr: number }) => {
      const c = cats.get(key) ?? { n: 0, hit5: 0, recall5: 0, mrr: 0 };
      c.n += s.n;
      c.hit5 += s.hit5 * s.n;
      c.recall5 += s.recall5 * s.n;
      c.mrr += s.mrr * s.n;
      cats.set(key, c);
    };
    for (const set of rows) {
      add('all', set[i]!.all);
      for (const [k, s] of Object.entries(set[i]!.byCategory)) add(k, s);
    }
    const avg = (c: { n: number; hit5: number; recall5: number; mrr: number }) => ({
      n: c.n,
      hit5: Math.round((c.hit5 / c.n) * 1000) / 1000,
      recall5: Math.round((c.recall5 / c.n) * 1000) / 1000,
      mrr: Math.round((c.mrr / c.n) * 1000) / 1000,
    });
    const all = avg(cats.get('all')!);
    cats.delete('all');
    return {
      variant: first.variant,
      ran: first.ran,
      all,
      byCategory: Object.fromEntries([...cats].map(([k, c]) => [k, avg(c)])),
    };
  });
}

const db = await PgliteDb.open('memory://');
await migrate(db);
const started = performance.now();
const locomo: VariantScores[][] = [];
let notes: VariantScores[] = [];
for (const set of sets) {
  const rows = await evaluate(db, embedder, set, variants, (done, total) =>
    process.stderr.write(`\r${set.name}: ingested ${done}/${total} documents`),
  );
  process.stderr.write('\n');
  if (set === notesSet) notes = rows;
  else locomo.push(rows);
}
await db.close();

const print = (title: string, rows: VariantScores[]) => {
  console.log(`\n${title}`);
  console.log(`${'variant'.padEnd(20)} ${'category'.padEnd(12)} hit@5  rec@5  MRR       n`);
  for (const r of rows) {
    console.log(`${r.variant.padEnd(20)} ${'all'.padEnd(12)} ${fmt(r.all)}   (ran: ${r.ran})`);
    for (const [k, s] of Object.entries(r.byCategory).sort())
      console.log(`${''.padEnd(20)} ${k.padEnd(12)} ${fmt(s)}`);
  }
};
const merged = locomo.length > 0 ? merge(locomo) : [];
if (merged.length > 0)
  print(
    `LoCoMo subset (conversations ${sets
      .filter((s) => s !== notesSet)
      .map((s) => s.name.slice(7))
      .join(', ')}; one document per turn${args.dated ? ', dated' : ''})`,
    merged,
  );
print('Notes set (test/memory/fixtures/notes-set.ts, 40 paraphrased questions)', notes);
console.log(`\n${Math.round((performance.now() - started) / 1000)} s`);
console.log(
  JSON.stringify({
    bench: 'memory-quality',
    dated: args.dated,
    locomo: merged.map((r) => ({ variant: r.variant, ran: r.ran, ...r.all })),
    notes: notes.map((r) => ({ variant: r.variant, ran: r.ran, ...r.all })),
  }),
);
