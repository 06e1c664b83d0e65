import { AppError } from '../errors.ts';
import type { ContentPart } from '../models/types.ts';
import type { Attachment } from './schema.ts';

/** Decoded bytes of base64 text (a data URL's payload after its comma). */
function base64Bytes(text: string): number {
  const data = text.startsWith('data:') ? text.slice(text.indexOf(',') + 1) : text;
  return Math.floor((data.length * 3) / 4);
}

/** The inline data an attachment carries, in bytes (an image by URL or a file by id: none). */
function inlineBytes(a: Attachment): number {
  switch (a.type) {
    case 'image_url':
      return a.image_url.url.startsWith('data:') ? base64Bytes(a.image_url.url) : 0;
    case 'input_audio':
      return base64Bytes(a.input_audio.data);
    case 'file':
      return a.file.file_data ? base64Bytes(a.file.file_data) : 0;
  }
}

/**
 * A chat message's content parts: its text first, then its attachments as sent; undefined for a
 * text-only message. Attachments whose inline data is over `maxBytes` together are refused (413,
 * naming the attachment that crossed the limit), before anything is written.
 */
export function messageParts(
  message: string,
  attachments: readonly Attachment[] | undefined,
  maxBytes: number,
): ContentPart[] | undefined {
  if (!attachments || attachments.length === 0) return undefined;
  let total = 0;
  for (const [i, a] of attachments.entries()) {
    total += inlineBytes(a);
    if (total > maxBytes) {
      throw new AppError(
        'payload_too_large',
        `attachments[${i}]: the message's attachments carry over ${maxBytes} bytes of inline data ` +
          '(runtime.max_attachment_bytes); send large files by URL or file_id',
        { details: { param: `attachments[${i}]`, limit_bytes: maxBytes } },
      );
    }
  }
  return [{ type: 'text', text: message }, ...attachments];
}
