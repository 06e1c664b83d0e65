import { Ajv, type Options, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { RE2JS } from 're2js';

// ajv-formats is CommonJS: under NodeNext the default import is the module object, whose
// `default` is the plugin (at run time both shapes occur depending on the loader).
type FormatsPlugin = (ajv: Ajv) => Ajv;
const formatsModule = addFormatsModule as unknown as FormatsPlugin & { default?: FormatsPlugin };
const addFormats: FormatsPlugin = formatsModule.default ?? formatsModule;

type RegExpEngine = NonNullable<NonNullable<Options['code']>['regExp']>;

/**
 * The regular expressions of `pattern` and `patternProperties`, on RE2JS: matching takes time
 * linear in the input, whatever the pattern. JavaScript's own engine backtracks, so a client's
 * `^(a+)+$` against 40 "a" and a "!" would hold the event loop for hours. RE2 has no lookaround
 * and no backreferences: such a pattern fails to compile, and the schema is refused.
 */
const linearRegExp: RegExpEngine = Object.assign(
  (pattern: string, flags: string) => {
    const re = RE2JS.compile(RE2JS.translateRegExp(pattern));
    // ajv keeps one compiled pattern per `toString()`: it must differ between patterns.
    return { test: (s: string) => re.test(s), toString: () => `/${pattern}/${flags}` };
  },
  { code: 'linearRegExp' },
);

/**
 * An ajv for JSON Schemas that clients write (task input schemas): every error at once, formats,
 * and linear-time patterns.
 */
export function schemaAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, code: { regExp: linearRegExp } });
  addFormats(ajv);
  return ajv;
}

/**
 * Compiles `schema` without keeping it in `ajv`'s own cache (keyed by the object, so a long-lived
 * ajv would otherwise keep every schema it has seen, and refuse a second schema with the same
 * `$id`). Throws ajv's or RE2JS's error when the schema cannot be compiled.
 */
export function compileSchema(ajv: Ajv, schema: Record<string, unknown>): ValidateFunction {
  try {
    return ajv.compile(schema);
  } finally {
    ajv.removeSchema(schema);
  }
}
