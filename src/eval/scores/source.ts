import { hasScope, type Principal } from '../../auth/principal.ts';

/**
 * Where a score comes from. `human`: a person (a console session, a user's token or key);
 * `api`: a program with a key of its own; `evaluator`: the server's evaluators; `end_user`: an
 * app's end users, through a `feedback` key. Only the server says which: a client cannot claim one.
 */
export const scoreSources = ['human', 'evaluator', 'api', 'end_user'] as const;
export type ScoreSource = (typeof scoreSources)[number];

/** Who writes or changes a score, as the credential says: its source, its author, whether an admin. */
export interface ScoreAuthor {
  source: ScoreSource;
  /** The user the credential acts for (`user:<sub>`, the key's owner) or the key itself (`key:<id>`). */
  author: string;
  /** An admin may change or delete anyone's score. */
  admin: boolean;
}

/** A key that may only post end users' feedback (the `feedback` scope and nothing that reads). */
export const feedbackOnly = (p: Principal) => p.scopes.has('feedback') && !hasScope(p, 'read');

export function scoreAuthorOf(p: Principal): ScoreAuthor {
  return {
    source: sourceOf(p),
    author: p.userId ?? p.subject,
    admin: p.via === 'internal' || hasScope(p, 'admin'),
  };
}

function sourceOf(p: Principal): ScoreSource {
  if (feedbackOnly(p)) return 'end_user';
  switch (p.via) {
    case 'console_session':
    case 'jwt':
    case 'dev':
      return 'human';
    case 'api_key':
      // A key made for a user acts for that person; a key that is its own user is a program's.
      return p.userId && p.userId !== `key:${p.keyId}` ? 'human' : 'api';
    case 'internal':
      return 'api';
  }
}
