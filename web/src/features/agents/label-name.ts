/** The server's rule for a label's name (src/agents/version-schema.ts `labelName`). */
export const LABEL = /^[a-z][a-z0-9._-]{0,62}$/;
export const labelRule = 'A lower-case letter, then up to 62 of a-z 0-9 . _ -: production, canary-eu.';
