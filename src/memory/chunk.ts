/**
 * Structure-aware chunking. Every format is first turned into sections (a heading path and its
 * paragraphs); chunks never cross a section, so a chunk's heading path tells what it is about.
 * Paragraphs are packed up to `maxChars`; the next chunk of the same section starts with the tail
 * of the previous one (`overlapChars`, cut at a word) so a sentence split by a boundary is still
 * found whole on one side.
 */

export interface Section {
  headingPath: string[];
  paragraphs: string[];
}

export interface Chunk {
  position: number;
  headingPath: string[];
  content: string;
}

export interface ChunkOptions {
  maxChars: number;
  overlapChars: number;
}

const FENCE = /^\s*(```|~~~)/;
const HEADING = /^(#{1,6})\s+(.+?)\s*#*\s*$/;

/** Markdown (and plain text, which is Markdown without headings) into sections by ATX headings. */
export function markdownSections(text: string): Section[] {
  const sections: Section[] = [];
  const path: string[] = [];
  let current: Section = { headingPath: [], paragraphs: [] };
  let para: string[] = [];
  let inFence = false;
  const endParagraph = () => {
    const p = para.join('\n').trim();
    if (p) current.paragraphs.push(p);
    para = [];
  };
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    if (FENCE.test(line)) inFence = !inFence;
    const heading = inFence ? null : HEADING.exec(line);
    if (heading) {
      endParagraph();
      if (current.paragraphs.length > 0) sections.push(current);
      const level = heading[1]!.length;
      path.length = Math.min(path.length, level - 1);
      while (path.length < level - 1) path.push('');
      path.push(heading[2]!);
      current = { headingPath: path.filter((h) => h !== ''), paragraphs: [] };
    } else if (!inFence && line.trim() === '') {
      endParagraph();
    } else {
      para.push(line);
    }
  }
  endParagraph();
  if (current.paragraphs.length > 0) sections.push(current);
  return sections;
}

/** Splits a paragraph longer than `max` at sentence ends, then at spaces, then anywhere. */
function splitLong(text: string, max: number): string[] {
  if (text.length <= max) return [text];
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const window = rest.slice(0, max);
    let cut = Math.max(window.lastIndexOf('. '), window.lastIndexOf('.\n'), window.lastIndexOf('? '));
    if (cut < max / 2) cut = window.lastIndexOf(' ');
    if (cut < max / 2) cut = max - 1;
    pieces.push(rest.slice(0, cut + 1).trim());
    rest = rest.slice(cut + 1);
  }
  if (rest.trim()) pieces.push(rest.trim());
  return pieces;
}

/** The last `n` characters of `text`, starting at a word boundary. */
function tail(text: string, n: number): string {
  if (n <= 0 || text.length <= n) return n <= 0 ? '' : text;
  const t = text.slice(text.length - n);
  const space = t.indexOf(' ');
  return space >= 0 ? t.slice(space + 1) : t;
}

export function chunkSections(sections: readonly Section[], options: ChunkOptions): Chunk[] {
  const { maxChars, overlapChars } = options;
  const chunks: Chunk[] = [];
  for (const section of sections) {
    const pieces = section.paragraphs.flatMap((p) => splitLong(p, maxChars));
    let body = '';
    let fresh = false; // body holds text not yet emitted (not only overlap)
    const emit = () => {
      if (fresh) chunks.push({ position: chunks.length, headingPath: section.headingPath, content: body });
      body = fresh ? tail(body, overlapChars) : body;
      fresh = false;
    };
    for (const piece of pieces) {
      if (fresh && body.length + piece.length + 2 > maxChars) emit();
      // The overlap is dropped rather than pushing a full-size piece over the limit.
      if (!fresh && body.length + piece.length + 2 > maxChars) body = '';
      body = body ? `${body}\n\n${piece}` : piece;
      fresh = true;
    }
    emit();
  }
  return chunks;
}
