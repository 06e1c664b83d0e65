/**
 * The FriendsQA subset of bench/fixtures/friendsqa-subset.json (Apache-2.0, see
 * bench/fixtures/FRIENDSQA-LICENSE.txt; made by scripts/friendsqa-subset.mjs) as eval sets of
 * test/helpers/retrieval-quality.ts: one set (one knowledge base) per episode, one document per
 * dialogue turn, `speaker: text`, with the turn's id as its source; each question's category is its
 * kind (What, Who, When, Where, Why, How), paraphrased questions folded into their kind unless
 * `splitParaphrased` marks them "<kind> (paraphrased)".
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EvalSet } from './retrieval-quality.ts';

export interface FriendsqaSubset {
  source: string;
  episodes: string[];
  conversations: {
    /** The episode, sNN_eNN. */
    id: string;
    /** The episode's scenes in order; the id is `<scene>:u<NNN>`. */
    turns: [id: string, speaker: string, text: string][];
    qa: [question: string, kind: string, paraphrased: 0 | 1, evidence: string[]][];
  }[];
}

export const friendsqaFile = fileURLToPath(
  new URL('../../bench/fixtures/friendsqa-subset.json', import.meta.url),
);

export function readFriendsqa(file: string = friendsqaFile): FriendsqaSubset {
  return JSON.parse(readFileSync(file, 'utf8')) as FriendsqaSubset;
}

export function friendsqaSets(
  subset: FriendsqaSubset = readFriendsqa(),
  opts: { episodes?: readonly string[]; splitParaphrased?: boolean } = {},
): EvalSet[] {
  return subset.conversations
    .filter((c) => !opts.episodes || opts.episodes.includes(c.id))
    .map((c) => ({
      name: `friendsqa-${c.id}`,
      documents: c.turns.map(([id, speaker, text]) => ({
        source: id,
        text: `${speaker}: ${text}`,
        metadata: { speaker, scene: id.slice(0, id.indexOf(':')) },
      })),
      questions: c.qa.map(([query, kind, paraphrased, evidence]) => ({
        query,
        category: opts.splitParaphrased && paraphrased ? `${kind} (paraphrased)` : kind,
        evidence,
      })),
    }));
}
