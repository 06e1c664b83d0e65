import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { AppError } from '../../errors.ts';

/**
 * The API speaks JSON only. Fastify's JSON parser is replaced by one that says what is wrong with
 * a malformed body (its own answers "not valid JSON" for a syntax error and a prototype-poisoning
 * key alike), and the text/plain parser is removed so any other type answers 415.
 * A route that takes another type (a file upload) registers its parser in its own plugin.
 */
export function registerBodyParsing(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.length === 0) {
      done(new AppError('bad_request', 'the body is empty but Content-Type says application/json'));
      return;
    }
    try {
      // `__proto__` and `constructor.prototype` keys are refused: merged into an object later,
      // they would change its prototype.
      done(null, secureJson.parse(text, { protoAction: 'error', constructorAction: 'error' }));
    } catch (err) {
      const reason = (err as Error).message.replace(/\s+/g, ' ').slice(0, 200);
      done(new AppError('bad_request', `malformed JSON body: ${reason}`));
    }
  });
}
