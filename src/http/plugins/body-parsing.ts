import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.ts';
import { parseClientJson } from '../../text/client-json.ts';
import { findUnstorableText } from '../../text/json-limits.ts';

/**
 * The API speaks JSON only. Fastify's JSON parser is replaced by one that says what is wrong with
 * a malformed body (its own answers "not valid JSON" for a syntax error and a prototype-poisoning
 * key alike), and the text/plain parser is removed so any other type answers 415.
 * A route that takes another type (a file upload) registers its parser in its own plugin.
 *
 * Every JSON body, whichever route it is for, is held to the same limits here, at the edge: its
 * size (`server.body_limit`, 413), its nesting depth (`server.json_max_depth`, 400, counted before
 * parsing so no later walk can overflow the stack), and text the store cannot keep (NUL, lone
 * surrogates: 400 naming the field; client text is refused rather than silently changed). An empty
 * body is `{}`: clients that send `Content-Type: application/json` on every request send it on
 * bodiless POSTs (cancel, retry, approve) too.
 */
export function registerBodyParsing(app: FastifyInstance, maxDepth: number): void {
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim().length === 0) return done(null, {});
    try {
      done(null, parseClientJson(text, maxDepth));
    } catch (err) {
      done(err as Error);
    }
  });
  // The same text rules for the query string and path parameters (`%00` decodes to NUL).
  app.addHook('preValidation', async (request) => {
    for (const [where, values] of [
      ['query', request.query],
      ['path', request.params],
    ] as const) {
      const bad = values && typeof values === 'object' ? findUnstorableText(values) : undefined;
      if (bad) {
        throw new AppError(
          'bad_request',
          `${where} parameter ${bad.slice(2)} holds a NUL character or a lone surrogate`,
          {
            details: [
              { in: where, path: bad.slice(2), message: 'NUL and unpaired surrogates are not accepted' },
            ],
          },
        );
      }
    }
  });
}
