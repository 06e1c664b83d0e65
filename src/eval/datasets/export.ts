import type { DatasetItem } from './schema.ts';

/**
 * Dataset items written as the import reads them back: JSONL (one item per line, as POST …/items
 * takes it) or CSV (RFC 4180, the header of the import's columns). One line per item, so an export
 * streams as it reads.
 */

export const CSV_HEADER = 'message,task_type,payload,title,expected,metadata,tags\r\n';

export function jsonlLine(item: DatasetItem): string {
  return `${JSON.stringify({
    input: item.input,
    ...(item.expected !== null && { expected: item.expected }),
    metadata: item.metadata,
    tags: item.tags,
  })}\n`;
}

/**
 * A CSV record. `expected` is written as it is when a string (the import reads the cell as a string)
 * and as JSON otherwise; tags are joined with `|`, which the import splits on.
 */
export function csvLine(item: DatasetItem): string {
  const input = item.input;
  const fields =
    'message' in input
      ? [input.message, '', '', '']
      : [
          '',
          input.task_type,
          input.payload === undefined ? '' : JSON.stringify(input.payload),
          input.title ?? '',
        ];
  const expected =
    item.expected === null
      ? ''
      : typeof item.expected === 'string'
        ? item.expected
        : JSON.stringify(item.expected);
  fields.push(expected, JSON.stringify(item.metadata), item.tags.join('|'));
  return `${fields.map(csvField).join(',')}\r\n`;
}

const csvField = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
