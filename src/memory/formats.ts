import { extname } from 'node:path';
import { AppError } from '../errors.ts';
import { jsonTooDeep } from '../text/json-limits.ts';
import { markdownSections, type Section } from './chunk.ts';

export const formats = ['text', 'markdown', 'html', 'json', 'pdf'] as const;
export type Format = (typeof formats)[number];

const byExtension: Record<string, Format> = {
  '.txt': 'text',
  '.text': 'text',
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.mdx': 'markdown',
  '.html': 'html',
  '.htm': 'html',
  '.json': 'json',
  '.pdf': 'pdf',
};

/** The format of a file by its extension; undefined when it is not one this module reads. */
export const formatOfName = (name: string): Format | undefined => byExtension[extname(name).toLowerCase()];

export interface Parsed {
  title: string;
  sections: Section[];
}

/** Turns a document's bytes into sections; a document that cannot be read is the client's mistake (422). */
export async function parseDocumentBytes(bytes: Uint8Array, format: Format, source: string): Promise<Parsed> {
  if (format === 'pdf') return parsePdf(bytes, source);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (text.includes('\u0000'))
    throw new AppError('unprocessable', `${source}: binary content is not ${format}`);
  switch (format) {
    case 'html':
      return await parseHtml(text);
    case 'json':
      return parseJson(text, source);
    default: {
      const sections = markdownSections(text);
      return { title: sections.find((s) => s.headingPath.length > 0)?.headingPath[0] ?? '', sections };
    }
  }
}

/**
 * HTML to Markdown-shaped text (headings as `#`, blocks as paragraphs), then sections as Markdown.
 * The HTML parser loads on first use: the CLI imports this file for `formatOfName` alone.
 */
async function parseHtml(html: string): Promise<Parsed> {
  const { htmlToText } = await import('../text/html.ts');
  const { title, text } = htmlToText(html, 'markdown');
  const sections = markdownSections(text);
  return { title: title || (sections.find((s) => s.headingPath.length > 0)?.headingPath[0] ?? ''), sections };
}

/**
 * JSON: each top-level key (or array element) is a section; its leaves become `path: value` lines,
 * so a search for a field name or a value finds the part of the document that holds it.
 */
/** Nesting accepted in an ingested JSON document. */
export const documentJsonMaxDepth = 64;

function parseJson(text: string, source: string): Parsed {
  // Sections are built by walking the value recursively: a document nested thousands deep would
  // overflow the stack (a 500), so depth is checked over the text first, as for a JSON body.
  if (jsonTooDeep(text, documentJsonMaxDepth) !== undefined) {
    throw new AppError(
      'unprocessable',
      `${source}: JSON nested deeper than ${documentJsonMaxDepth} levels, the most a document may have`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AppError('unprocessable', `${source}: not valid JSON: ${(err as Error).message}`);
  }
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [`[${i}]`, v])
    : value !== null && typeof value === 'object'
      ? Object.entries(value)
      : [['value', value]];
  const sections = entries.map(([key, v]) => ({ headingPath: [key], paragraphs: leafLines(v, key) }));
  const title = value && typeof value === 'object' && 'title' in value ? String(value.title) : '';
  return { title, sections: sections.filter((s) => s.paragraphs.length > 0) };
}

function leafLines(value: unknown, path: string): string[] {
  if (value === null || typeof value !== 'object') return [`${path}: ${String(value)}`];
  const entries = Array.isArray(value)
    ? value.map((v, i): [string, unknown] => [`${path}[${i}]`, v])
    : Object.entries(value).map(([k, v]): [string, unknown] => [`${path}.${k}`, v]);
  return entries.flatMap(([p, v]) => leafLines(v, p));
}

/** PDF text by page (unpdf: PDF.js built for servers, pure JavaScript); each page is a section. */
async function parsePdf(bytes: Uint8Array, source: string): Promise<Parsed> {
  const { extractText, getDocumentProxy } = await import('unpdf');
  let pages: string[];
  try {
    const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
    pages = (await extractText(pdf, { mergePages: false })).text;
  } catch (err) {
    throw new AppError('unprocessable', `${source}: not a readable PDF: ${(err as Error).message}`);
  }
  const sections = pages.map((page, i) => ({
    headingPath: [`Page ${i + 1}`],
    paragraphs: page
      .split(/\n\s*\n/)
      .map((p) => p.trim())
      .filter(Boolean),
  }));
  return { title: '', sections: sections.filter((s) => s.paragraphs.length > 0) };
}
