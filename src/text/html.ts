import { type ChildNode, type Element, isTag, isText } from 'domhandler';
import { parseDocument } from 'htmlparser2';

/**
 * HTML to readable text, shared by the web tools (a fetched page for a model to read) and
 * knowledge-base ingestion (an HTML document cut into sections). One walker, so both drop the
 * same non-text elements and break lines at the same block elements.
 */

const BLOCK = new Set([
  'p',
  'div',
  'section',
  'article',
  'main',
  'li',
  'ul',
  'ol',
  'pre',
  'blockquote',
  'table',
  'tr',
  'td',
  'th',
  'dd',
  'dt',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'br',
  'hr',
  'header',
  'footer',
  'figure',
  'figcaption',
]);
const SKIP = new Set(['script', 'style', 'noscript', 'template', 'svg', 'head', 'nav', 'iframe', 'object']);

/**
 * - `lines`: every block on its own line, no blank lines; text keeps the line breaks of its source.
 * - `markdown`: headings as `#` lines and blocks as paragraphs separated by a blank line; text is
 *   reflowed as a browser shows it (runs of white space are one space), so Markdown sectioning
 *   reads it.
 */
export type HtmlTextStyle = 'lines' | 'markdown';

/** The readable text of an HTML page (scripts, styles and markup dropped; entities decoded) and its title. */
export function htmlToText(html: string, style: HtmlTextStyle = 'lines'): { title: string; text: string } {
  const markdown = style === 'markdown';
  const gap = markdown ? '\n\n' : '\n';
  let title = '';
  const out: string[] = [];
  const walk = (nodes: ChildNode[]) => {
    for (const node of nodes) {
      if (isText(node)) out.push(markdown ? node.data.replace(/\s+/g, ' ') : node.data);
      else if (isTag(node)) {
        // <head> is skipped below, so its <title> is read here.
        if (!title) title = titleIn(node);
        if (SKIP.has(node.name)) continue;
        const heading = markdown && /^h([1-6])$/.exec(node.name);
        if (heading) {
          out.push(`${gap}${'#'.repeat(Number(heading[1]))} ${textOf(node.children)}${gap}`);
          continue;
        }
        const block = BLOCK.has(node.name);
        if (block) out.push(gap);
        walk(node.children);
        if (block) out.push(gap);
      }
    }
  };
  walk(parseDocument(html).children);
  const lines = out
    .join('')
    .split('\n')
    .map((line) => line.replace(/\s+/g, ' ').trim());
  const text = markdown
    ? lines
        .join('\n')
        .replace(/\n{3,}/g, '\n\n')
        .trim()
    : lines.filter(Boolean).join('\n');
  return { title, text };
}

function titleIn(node: Element): string {
  if (node.name === 'title') return textOf(node.children);
  if (node.name !== 'head') return '';
  const inner = node.children.find((n): n is Element => isTag(n) && n.name === 'title');
  return inner ? textOf(inner.children) : '';
}

/** The text under some nodes on one line (skipped elements left out). */
function textOf(nodes: ChildNode[]): string {
  return rawText(nodes).replace(/\s+/g, ' ').trim();
}

function rawText(nodes: ChildNode[]): string {
  return nodes
    .map((n) => (isText(n) ? n.data : isTag(n) && !SKIP.has(n.name) ? rawText(n.children) : ''))
    .join('');
}
