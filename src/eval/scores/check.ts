import { AppError } from '../../errors.ts';
import type { ScoreConfig } from './config-schema.ts';

/** A value as a client sends it: a number, a category's label, or true/false. */
export type ScoreInput = number | string | boolean;

/** A value as stored: the number every filter and mean reads, and the label of a category or boolean. */
export interface CheckedValue {
  value: number;
  label: string | null;
}

const refuse = (message: string) =>
  new AppError('validation_error', `value: ${message}`, { details: [{ path: 'value', message }] });

const shown = (v: ScoreInput) => JSON.stringify(v);

/**
 * Checks a value against its score's config (none: any finite number). numeric: a number in the
 * config's range; categorical: a label of its categories, or the number of exactly one of them;
 * boolean: true or false (or 1 and 0), stored as 1 or 0 with the label "true" or "false".
 */
export function checkValue(config: ScoreConfig | undefined, v: ScoreInput): CheckedValue {
  if (!config) {
    if (typeof v !== 'number') throw refuse(`a number (the score names no config), not ${shown(v)}`);
    return { value: v, label: null };
  }
  switch (config.kind) {
    case 'numeric': {
      if (typeof v !== 'number') throw refuse(`a number (config ${config.name} is numeric), not ${shown(v)}`);
      if ((config.min !== null && v < config.min) || (config.max !== null && v > config.max))
        throw refuse(
          `${v} is outside config ${config.name}'s range ${config.min ?? '-∞'} to ${config.max ?? '∞'}`,
        );
      return { value: v, label: null };
    }
    case 'categorical': {
      const categories = config.categories ?? [];
      const found =
        typeof v === 'string'
          ? categories.filter((c) => c.label === v)
          : typeof v === 'number'
            ? categories.filter((c) => c.value === v)
            : [];
      const names = categories.map((c) => c.label).join(', ');
      if (found.length === 0)
        throw refuse(`one of config ${config.name}'s categories (${names}), not ${shown(v)}`);
      if (found.length > 1)
        throw refuse(`${v} is the number of several of ${config.name}'s categories: send a label (${names})`);
      return { value: found[0]!.value, label: found[0]!.label };
    }
    case 'boolean': {
      const b = v === true || v === 1 ? true : v === false || v === 0 ? false : undefined;
      if (b === undefined) throw refuse(`true or false (config ${config.name} is boolean), not ${shown(v)}`);
      return { value: b ? 1 : 0, label: String(b) };
    }
  }
}
