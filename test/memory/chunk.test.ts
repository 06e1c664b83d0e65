import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkSections, markdownSections } from '../../src/memory/chunk.ts';
import { fuseRrf } from '../../src/memory/search.ts';

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
