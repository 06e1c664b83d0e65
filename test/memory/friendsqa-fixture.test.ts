import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { friendsqaSets, readFriendsqa } from '../helpers/friendsqa-set.ts';

// The FriendsQA subset that `npm run eval:memory` scores retrieval on: it loads, every question's
// evidence is a turn of its own episode, and it is the subset its licence file describes.
const licence = readFileSync(new URL('../../bench/fixtures/FRIENDSQA-LICENSE.txt', import.meta.url), 'utf8');

describe('the FriendsQA subset fixture', () => {
  const subset = readFriendsqa();
  const sets = friendsqaSets(subset);

  it('loads as one eval set per episode, every evidence id a turn of its episode', () => {
    assert.equal(sets.length, subset.episodes.length);
    for (const set of sets) {
      const sources = new Set(set.documents.map((d) => d.source));
      assert.equal(sources.size, set.documents.length, `${set.name}: turn ids are unique`);
      assert.ok(set.questions.length > 0);
      for (const q of set.questions) {
        assert.ok(q.evidence.length > 0, `${set.name}: ${q.query}`);
        for (const e of q.evidence) assert.ok(sources.has(e), `${set.name}: ${q.query} -> ${e}`);
      }
    }
  });

  it('has the episodes, scenes, turns and questions per kind its licence file states', () => {
    const stated = /^Subset: (\d+) episodes \(([^)]+)\), (\d+) scenes, (\d+) turns, (\d+) questions$/m.exec(
      licence,
    );
    assert.ok(stated, 'the licence file states the subset');
    const [, episodes, names, scenes, turns, questions] = stated;
    const documents = sets.flatMap((s) => s.documents);
    assert.equal(sets.length, Number(episodes));
    assert.deepEqual(subset.episodes, names!.split(', '));
    assert.equal(new Set(documents.map((d) => d.metadata?.scene)).size, Number(scenes));
    assert.equal(documents.length, Number(turns));
    assert.equal(
      sets.reduce((n, s) => n + s.questions.length, 0),
      Number(questions),
    );

    const kinds = /^Questions per kind \(of which paraphrased\): (.+)$/m.exec(licence);
    assert.ok(kinds, 'the licence file states the questions per kind');
    const count = (category: string) =>
      friendsqaSets(subset, { splitParaphrased: true })
        .flatMap((s) => s.questions)
        .filter((q) => q.category === category).length;
    for (const [, kind, all, paraphrased] of kinds[1]!.matchAll(/(\w+) (\d+) \((\d+)\)/g)) {
      assert.equal(
        sets.flatMap((s) => s.questions).filter((q) => q.category === kind).length,
        Number(all),
        kind,
      );
      assert.equal(count(`${kind} (paraphrased)`), Number(paraphrased), `${kind} paraphrased`);
    }
    assert.equal([...kinds[1]!.matchAll(/(\w+) (\d+) \((\d+)\)/g)].length, 6);
  });
});
