import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkSections, markdownSections } from '../../src/memory/chunk.ts';
import { fuseRrf, fuseScores } from '../../src/memory/search.ts';

const sentence = (i: number) => `Sentence number ${i} says something about topic ${i % 7}.`;

describe('chunking', () => {
  it('splits Markdown by ATX headings into a heading path, ignoring # lines inside code fences', () => {
    const sections = markdownSections(
      [
        'Intro before any heading.',
        '# Top',
        'Under top.',
        '### Deep (level 3 under level 1)',
        'Deep text.',
        '## Second',
        '```sh',
        '# not a heading, a shell comment',
        '```',
        '# Other',
        'Last.',
      ].join('\n\n'),
    );
    assert.deepEqual(
      sections.map((s) => s.headingPath),
      [[], ['Top'], ['Top', 'Deep (level 3 under level 1)'], ['Top', 'Second'], ['Other']],
    );
    assert.deepEqual(sections[3]!.paragraphs, ['```sh\n\n# not a heading, a shell comment\n\n```']);
  });

  it('packs paragraphs up to the limit and repeats the tail of a chunk at the start of the next', () => {
    const paragraphs = Array.from({ length: 30 }, (_, i) => sentence(i));
    const chunks = chunkSections([{ headingPath: ['A'], paragraphs }], { maxChars: 300, overlapChars: 60 });
    assert.ok(chunks.length >= 4, `${chunks.length} chunks`);
    chunks.forEach((c, i) => {
      assert.equal(c.position, i);
      assert.ok(c.content.length <= 300 + 60, `chunk ${i} is ${c.content.length} chars`);
      assert.deepEqual(c.headingPath, ['A']);
    });
    for (let i = 1; i < chunks.length; i++) {
      const head = chunks[i]!.content.slice(0, 20);
      assert.ok(chunks[i - 1]!.content.includes(head), `chunk ${i} starts with the end of chunk ${i - 1}`);
    }
    // Every paragraph is in some chunk, whole.
    for (const p of paragraphs)
      assert.ok(
        chunks.some((c) => c.content.includes(p)),
        p,
      );
  });

  it('never lets a chunk cross a section, and cuts an over-long paragraph at sentence ends', () => {
    const long = Array.from({ length: 40 }, (_, i) => sentence(i)).join(' ');
    const chunks = chunkSections(
      [
        { headingPath: ['One'], paragraphs: ['Short one.'] },
        { headingPath: ['Two'], paragraphs: [long] },
      ],
      { maxChars: 400, overlapChars: 0 },
    );
    assert.deepEqual(chunks[0], { position: 0, headingPath: ['One'], content: 'Short one.' });
    const two = chunks.slice(1);
    assert.ok(two.length > 1);
    for (const c of two) {
      assert.deepEqual(c.headingPath, ['Two']);
      assert.ok(c.content.length <= 400);
      assert.match(c.content, /\.$/, 'ends at a sentence');
    }
    assert.equal(two.map((c) => c.content).join(' '), long);
  });
});

describe('reciprocal rank fusion', () => {
  it('adds 1/(k + rank) over the lists, so an item high in both beats one first in only one', () => {
    const fused = fuseRrf(
      [
        ['a', 'b', 'c'],
        ['b', 'd', 'a'],
      ],
      [1, 1],
      60,
    );
    assert.deepEqual(
      fused.map((f) => f.id),
      ['b', 'a', 'd', 'c'],
    );
    assert.deepEqual(fused[0]!.ranks, [2, 1]);
    assert.equal(fused[0]!.score, 1 / 62 + 1 / 61);
    assert.deepEqual(fused.find((f) => f.id === 'd')!.ranks, [null, 2]);
  });
});

describe('score fusion', () => {
  it('adds the text score and the similarity, the vector list turned down by the best text score', () => {
    const text = [
      { id: 'a', score: 0.5 },
      { id: 'b', score: 0.2 },
    ];
    const vector = [
      { id: 'c', similarity: 0.9 },
      { id: 'b', similarity: 0.6 },
      { id: 'd', similarity: 0.3 },
    ];
    const fused = fuseScores(text, vector, { text: 1, vector: 1 });
    // The vector weight is 1 × (1 − 0.9 × 0.5) = 0.55; a chunk the vector list missed counts its lowest, 0.3.
    const w = 1 - 0.9 * 0.5;
    assert.deepEqual(
      fused.map((f) => [f.id, f.ranks]),
      [
        ['a', [1, null]],
        ['b', [2, 2]],
        ['c', [null, 1]],
        ['d', [null, 3]],
      ],
    );
    assert.equal(fused[0]!.score, 0.5 + w * 0.3);
    assert.equal(fused[2]!.score, w * 0.9);
  });

  it('lets a confident vector list lead where full-text matched little of the query', () => {
    const text = [{ id: 'x', score: 0.1 }];
    const vector = [
      { id: 'y', similarity: 0.7 },
      { id: 'x', similarity: 0.3 },
    ];
    assert.equal(fuseScores(text, vector, { text: 1, vector: 3 })[0]!.id, 'y');
    // Where full-text's best match has every word, full-text leads.
    assert.equal(fuseScores([{ id: 'x', score: 1 }], vector, { text: 1, vector: 3 })[0]!.id, 'x');
  });

  it('with one list weighted 0 keeps the order of the other, ties to the better full-text rank', () => {
    const text = [
      { id: 'a', score: 0.4 },
      { id: 'b', score: 0.4 },
    ];
    const vector = [
      { id: 'b', similarity: 0.8 },
      { id: 'a', similarity: 0.5 },
    ];
    assert.deepEqual(
      fuseScores(text, vector, { text: 1, vector: 0 }).map((f) => f.id),
      ['a', 'b'],
    );
    assert.deepEqual(
      fuseScores(text, vector, { text: 0, vector: 1 }).map((f) => f.id),
      ['b', 'a'],
    );
  });
});
