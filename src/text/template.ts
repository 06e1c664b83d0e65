import { renderJson } from './render-json.ts';

/**
 * Fills `{{a.b.c}}` placeholders from `context`: each dotted path walks the objects (a missing step
 * renders empty); strings as they are, anything else as bounded JSON. Substitution only: nothing in
 * a template is evaluated. A task type's prompt template and a prompt experiment's user template
 * both render through it.
 */
export function fillTemplate(template: string, context: Record<string, unknown>): string {
  return template.replace(/\{\{\s*([A-Za-z0-9_.]+)\s*\}\}/g, (_, path: string) => {
    let value: unknown = context;
    for (const key of path.split('.'))
      value =
        value && typeof value === 'object' && Object.hasOwn(value, key)
          ? (value as Record<string, unknown>)[key]
          : undefined;
    if (value === undefined || value === null) return '';
    return typeof value === 'string' ? value : renderJson(value);
  });
}
