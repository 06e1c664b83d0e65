#!/usr/bin/env node
/**
 * Makes the FriendsQA subset of bench/fixtures/friendsqa-subset.json from a FriendsQA release file
 * (dat/friendsqa_dev.json of github.com/emorynlp/FriendsQA, Apache-2.0):
 *
 *   node scripts/friendsqa-subset.mjs friendsqa_dev.json bench/fixtures/friendsqa-subset.json
 *
 * Deterministic: the first EPISODES episodes of the release in sorted order (scene titles are
 * sNN_eNN_cNN), each episode one conversation made of its scenes in order. Every utterance is a turn
 * `[id, speaker, text]` with id `<scene>:u<NNN>` (the release's 0-based utterance id, three digits),
 * the speakers joined with " and " and the tokenizer's spacing undone where cheap. The scene
 * descriptions (speaker #NOTE#) are stage directions nobody says, so they are not turns: they are
 * left out of the evidence, and the questions answered only by them are left out. Each question is
 * `[question, kind, paraphrased (0 or 1), evidence]`, the kind being What, Who, When, Where, Why or
 * How and the evidence the distinct turns its answers come from.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const EPISODES = 5;

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node scripts/friendsqa-subset.mjs <release json> <out json>');
  process.exit(2);
}

/** Undoes the release's tokenizer spacing ("it 's" -> "it's", "gon na" -> "gonna", " ," -> ","). */
function detokenize(text) {
  return text
    .replace(/ (n't|'s|'re|'m|'ve|'ll|'d)\b/gi, '$1')
    .replace(/\b(gon|wan|got) (na|ta)\b/gi, '$1$2')
    .replace(/ ([,.!?;:%)\]])/g, '$1')
    .replace(/([([$]) /g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}

const speakerName = (s) => (s === '#ALL#' ? 'All' : s.replace(/_/g, ' '));

const release = JSON.parse(readFileSync(input, 'utf8'));
const scenes = release.data.map((d) => {
  if (d.paragraphs.length !== 1) throw new Error(`${d.title}: expected one paragraph`);
  return { title: d.title, ...d.paragraphs[0] };
});
scenes.sort((a, b) => (a.title < b.title ? -1 : a.title > b.title ? 1 : 0));
const episodes = [...new Set(scenes.map((s) => s.title.slice(0, 7)))].slice(0, EPISODES);

let droppedNoteOnly = 0;
const conversations = episodes.map((episode) => {
  const turns = [];
  const qa = [];
  for (const scene of scenes.filter((s) => s.title.startsWith(`${episode}_`))) {
    const utterances = scene['utterances:'];
    const id = (uid) => `${scene.title}:u${String(uid).padStart(3, '0')}`;
    const notes = new Set();
    for (const u of utterances) {
      if (u.speakers.includes('#NOTE#')) {
        notes.add(u.uid);
        continue;
      }
      turns.push([id(u.uid), u.speakers.map(speakerName).join(' and '), detokenize(u.utterance)]);
    }
    for (const q of scene.qas) {
      const [kind, paraphrased] = q.id.slice(scene.title.length + 1).split('_');
      const evidence = [...new Set(q.answers.map((a) => a.utterance_id))]
        .filter((uid) => !notes.has(uid))
        .sort((a, b) => a - b)
        .map(id);
      if (evidence.length === 0) {
        droppedNoteOnly += 1;
        continue;
      }
      qa.push([detokenize(q.question), kind, paraphrased ? 1 : 0, evidence]);
    }
  }
  return { id: episode, turns, qa };
});

const subset = { source: 'FriendsQA dat/friendsqa_dev.json (Apache-2.0)', episodes, conversations };
writeFileSync(output, `${JSON.stringify(subset)}\n`);

const kinds = {};
for (const c of conversations)
  for (const [, kind, paraphrased] of c.qa) {
    const key = paraphrased ? `${kind} (paraphrased)` : kind;
    kinds[key] = (kinds[key] ?? 0) + 1;
  }
console.log(
  JSON.stringify({
    episodes,
    scenes: scenes.filter((s) => episodes.includes(s.title.slice(0, 7))).length,
    turns: conversations.reduce((n, c) => n + c.turns.length, 0),
    questions: conversations.reduce((n, c) => n + c.qa.length, 0),
    droppedNoteOnly,
    kinds,
    bytes: readFileSync(output).length,
  }),
);
