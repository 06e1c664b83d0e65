import { producedJsonMaxDepth } from '../text/bound-depth.ts';
import { jsonTooDeep } from '../text/json-limits.ts';

/**
 * A model's tool-call arguments, parsed for a tool. The model may nest them as deep as it likes (a
 * prompt injection can ask it to): deeper than `producedJsonMaxDepth` is refused before parsing,
 * as an error the model sees, rather than handed to a tool's validation and handler.
 */
export function parseToolArguments(raw: string): { ok: true; args: unknown } | { ok: false; error: string } {
  if (raw.trim() === '') return { ok: true, args: {} };
  if (jsonTooDeep(raw, producedJsonMaxDepth) !== undefined) {
    return { ok: false, error: `arguments are nested deeper than ${producedJsonMaxDepth} levels` };
  }
  try {
    return { ok: true, args: JSON.parse(raw) };
  } catch (err) {
    return { ok: false, error: `arguments are not valid JSON: ${(err as Error).message}` };
  }
}
