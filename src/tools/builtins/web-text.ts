import { type ChildNode, isTag, isText } from 'domhandler';
import { parseDocument } from 'htmlparser2';

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
]);
const SKIP = new Set(['script', 'style', 'noscript', 'template', 'svg', 'head', 'iframe', 'object']);

/** The readable text of an HTML page (scripts, styles and markup dropped, blocks on their own lines) and its title. */
export function htmlToText(html: string): { title: string; text: string } {
  const doc = parseDocument(html);
  let title = '';
  const out: string[] = [];
  const walk = (nodes: ChildNode[]) => {
    for (const node of nodes) {
      if (isText(node)) out.push(node.data);
      else if (isTag(node)) {
        if (node.name === 'head' && !title) title = titleOf(node.children);
        if (node.name === 'title' && !title) title = textOf(node.children).trim();
        if (SKIP.has(node.name)) continue;
        const block = BLOCK.has(node.name);
        if (block) out.push('\n');
        walk(node.children);
        if (block) out.push('\n');
      }
    }
  };
  walk(doc.children);
  const text = out
    .join('')
    .split('\n')
    .map((line) => line.replace(/\s+/g, ' ').trim())
    .filter(Boolean)
    .join('\n');
  // htmlparser2 has decoded the entities already.
  return { title, text };
}

function titleOf(nodes: ChildNode[]): string {
  for (const n of nodes) {
    if (isTag(n) && n.name === 'title') return textOf(n.children).trim();
  }
  return '';
}

function textOf(nodes: ChildNode[]): string {
  return nodes.map((n) => (isText(n) ? n.data : isTag(n) ? textOf(n.children) : '')).join('');
}
