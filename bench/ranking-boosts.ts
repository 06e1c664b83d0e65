/**
 * Lexical boosts measured by `npm run eval:memory` before any is built into search: each reorders
 * a mode's ten hits by multiplying a hit's score by 1 + weight × the share of the query's proper
 * nouns (capitalised words past the first) or of its adjacent word pairs (phrases) that the hit's
 * text contains. FriendsQA's turns carry no dates, so a date boost has nothing to read there.
 */
import type { SearchResult } from '../src/memory/schema.ts';
import type { Variant } from '../test/helpers/retrieval-quality.ts';

type Hits = SearchResult['data'];
const STOP = new Set([
  'a',
  'an',
  'the',
  'of',
  'to',
  'in',
  'on',
  'at',
  'is',
  'was',
  'did',
  'does',
  'do',
  'and',
  'for',
]);

function properNouns(query: string): string[] {
  const words = query.match(/[A-Za-z][A-Za-z']*/g) ?? [];
  return words
    .slice(1)
    .filter((w) => /^[A-Z]/.test(w) && w !== 'I')
    .map((w) => w.toLowerCase());
}

function phrases(query: string): string[] {
  const words = (query.toLowerCase().match(/[a-z][a-z']*/g) ?? []).filter((w) => !STOP.has(w));
  return words.slice(1).map((w, i) => `${words[i]} ${w}`);
}

function boosted(terms: (q: string) => string[], weight: number) {
  return (query: string, hits: Hits): Hits => {
    const want = terms(query);
    if (want.length === 0) return hits;
    const scored = hits.map((h, i) => {
      const text = h.content
        .toLowerCase()
        .replace(/[^a-z' ]+/g, ' ')
        .replace(/\s+/g, ' ');
      const share = want.filter((t) => text.includes(t)).length / want.length;
      return { h, i, s: h.score * (1 + weight * share) };
    });
    return scored.sort((a, b) => b.s - a.s || a.i - b.i).map((x) => x.h);
  };
}

export const boostVariants: Variant[] = [
  { name: 'text+noun', search: { mode: 'text' }, rerank: boosted(properNouns, 0.5) },
  { name: 'text+phr', search: { mode: 'text' }, rerank: boosted(phrases, 0.5) },
  { name: 'hyb+noun', search: { mode: 'hybrid' }, rerank: boosted(properNouns, 0.5) },
  { name: 'hyb+phr', search: { mode: 'hybrid' }, rerank: boosted(phrases, 0.5) },
];
