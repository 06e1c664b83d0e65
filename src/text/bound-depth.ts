/**
 * Values the server did not write itself but keeps and serializes: a tool's output, the arguments a
 * model sent. JSON.stringify (the store, the answer, the model's next prompt) recurses, so a value
 * nested 20,000 deep throws RangeError there and fails the whole run; PostgreSQL's jsonb also has a
 * depth it refuses. Such a value is cut at `producedJsonMaxDepth` levels instead, the deeper part
 * replaced by a visible marker. Both walks are iterative and linear; a value within the limit is
 * returned as it is, without a copy.
 */

/** Nesting kept in tool output and model-sent tool arguments; deeper parts become a marker string. */
export const producedJsonMaxDepth = 64;

const isContainer = (v: unknown): v is object => v !== null && typeof v === 'object';

const childrenOf = (v: object): unknown[] => (Array.isArray(v) ? v : Object.values(v));

/** Whether `value` nests arrays and objects deeper than `max` levels (the top container is level 1). */
export function nestedDeeper(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (!isContainer(v)) continue;
    if (depth + 1 > max) return true;
    for (const child of childrenOf(v)) if (isContainer(child)) stack.push([child, depth + 1]);
  }
  return false;
}

/** `value`, or a copy of it with every container deeper than `max` levels replaced by a marker. */
export function boundDepth(value: unknown, max = producedJsonMaxDepth): unknown {
  if (!nestedDeeper(value, max)) return value;
  const marker = `[nested deeper than ${max} levels: cut]`;
  const root = { v: value };
  const out: Record<string, unknown> = {};
  const stack: Array<[object, Record<string | number, unknown>, number]> = [[root, out, 0]];
  while (stack.length > 0) {
    const [src, dst, depth] = stack.pop()!;
    for (const [k, child] of Object.entries(src)) {
      let copy: unknown = child;
      if (isContainer(child)) {
        if (depth + 1 > max) copy = marker;
        else {
          copy = Array.isArray(child) ? [] : {};
          stack.push([child, copy as Record<string, unknown>, depth + 1]);
        }
      }
      // defineProperty: a `__proto__` key stays a key, as JSON.parse made it.
      Object.defineProperty(dst, k, { value: copy, enumerable: true, writable: true, configurable: true });
    }
  }
  return out.v;
}
