import { AppError } from '../../errors.ts';
import { MAX_INLINE_PART_BYTES } from '../../models/openai-wire.ts';
import type { ContentPart } from '../../models/types.ts';

/**
 * A user turn's image and document blocks in the gateway's content parts, the shapes the OpenAI doors
 * take for the same models: a base64 image becomes an `image_url` part with a data URL, an image URL
 * an `image_url` part with that URL, a base64 PDF a `file` part with a data URL, a plain-text
 * document a text part. The gateway fetches none of these URLs (neither do the OpenAI doors): the
 * provider does, as it would for a direct call. A PDF by URL becomes a `file` part with `file_url`,
 * which Anthropic providers send on as a URL document; files by id (the Files API) are refused.
 */

export type Block = { type: string } & Record<string, unknown>;

export const isMedia = (b: Block) => b.type === 'image' || b.type === 'document';

const imageTypes = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

export function mediaParts(b: Block, at: string): ContentPart[] {
  const refuse = (why: string): never => {
    throw new AppError('bad_request', `${at}: ${why}`, { details: { param: at } });
  };
  const source = (b.source ?? {}) as Record<string, unknown>;
  const data = () => {
    if (typeof source.data !== 'string') refuse(`a base64 ${b.type} source needs its data`);
    const base64 = source.data as string;
    // base64 holds 3 bytes in 4 characters.
    if ((base64.length * 3) / 4 > MAX_INLINE_PART_BYTES) {
      throw new AppError(
        'payload_too_large',
        `${at}: inline ${b.type} data is over ${MAX_INLINE_PART_BYTES / 1024 / 1024} MB`,
        { details: { param: at } },
      );
    }
    return base64;
  };
  const url = () => {
    if (typeof source.url !== 'string' || !/^https?:\/\//i.test(source.url)) {
      refuse(`a url ${b.type} source needs an http(s) url`);
    }
    return source.url as string;
  };
  if (b.type === 'image') {
    if (source.type === 'base64') {
      const mediaType = String(source.media_type ?? '');
      if (!imageTypes.has(mediaType)) refuse(`image media_type must be one of ${[...imageTypes].join(', ')}`);
      return [{ type: 'image_url', image_url: { url: `data:${mediaType};base64,${data()}` } }];
    }
    if (source.type === 'url') return [{ type: 'image_url', image_url: { url: url() } }];
    return refuse(`image sources of type ${String(source.type)} are not supported (use base64 or url)`);
  }
  if (source.type === 'base64') {
    if (source.media_type !== 'application/pdf') refuse('a base64 document must be application/pdf');
    return [{ type: 'file', file: { file_data: `data:application/pdf;base64,${data()}` } }];
  }
  if (source.type === 'url') return [{ type: 'file', file: { file_url: url() } }];
  if (source.type === 'text') {
    if (typeof source.data !== 'string') refuse('a text document source needs its data');
    return [{ type: 'text', text: source.data as string }];
  }
  if (source.type === 'content') {
    const content = source.content;
    if (typeof content === 'string') return [{ type: 'text', text: content }];
    if (!Array.isArray(content)) return refuse('a content document source needs its content');
    return (content as Block[]).flatMap((c, j) =>
      c.type === 'text' && typeof c.text === 'string'
        ? [{ type: 'text', text: c.text }]
        : c.type === 'image'
          ? mediaParts(c, `${at}.source.content.${j}`)
          : refuse(`document content blocks of type ${c.type} are not supported`),
    );
  }
  return refuse(
    `document sources of type ${String(source.type)} are not supported (use base64, url or text)`,
  );
}
