/**
 * The text of an array parameter whose elements need no quoting (uuids, integers), for statements
 * that bind long arrays on a hot path. `pg` quotes and escapes every element of a JS array it is
 * given, with a regular-expression pass each: at 500-task batches that was about a tenth of a queue
 * worker's CPU per task. Only for values this process made or read from the store, never for text
 * from a request.
 */
export const plainArray = (values: readonly (string | number)[]): string => `{${values.join(',')}}`;
