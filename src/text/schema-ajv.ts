import { Ajv, type Options, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
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

type AnyAjv = Ajv | Ajv2019 | Ajv2020;

/**
 * ajvs for JSON Schemas that clients write (answer formats, task input schemas, evaluator
 * schemas): every error at once, formats, and linear-time patterns. One per JSON Schema version,
 * chosen by the schema's `$schema`: draft 2020-12 (LangChain's `withStructuredOutput` with zod 4,
 * pydantic) changed keywords (`prefixItems`, `$defs`, `$dynamicRef`) and cannot share an ajv with
 * draft-07 (zod-to-json-schema, most OpenAI examples). A schema that names no version is read as
 * draft-07, as it always was here.
 */
export interface SchemaAjv {
  draft07: Ajv;
  draft2019: Ajv2019;
  draft2020: Ajv2020;
}

export function schemaAjv(): SchemaAjv {
  const options: Options = { allErrors: true, strict: false, code: { regExp: linearRegExp } };
  // draft-06 schemas read the same under draft-07, which only added keywords.
  const all = { draft07: new Ajv(options), draft2019: new Ajv2019(options), draft2020: new Ajv2020(options) };
  for (const ajv of Object.values(all)) addFormats(ajv as Ajv);
  return all;
}

/** Versions by their meta-schema URI (http or https, with or without a trailing `#`). */
const versions: Array<[RegExp, keyof SchemaAjv]> = [
  [/^https?:\/\/json-schema\.org\/draft-0[67]\/schema#?$/, 'draft07'],
  [/^https?:\/\/json-schema\.org\/draft\/2019-09\/schema#?$/, 'draft2019'],
  [/^https?:\/\/json-schema\.org\/draft\/2020-12\/schema#?$/, 'draft2020'],
];

function ajvFor(ajvs: SchemaAjv, declared: unknown): AnyAjv {
  if (declared === undefined) return ajvs.draft07;
  const found = typeof declared === 'string' ? versions.find(([re]) => re.test(declared)) : undefined;
  if (!found) {
    throw new Error(
      `$schema ${JSON.stringify(declared)} is not a JSON Schema version this server reads ` +
        '(draft-07, draft-06, 2019-09 or 2020-12)',
    );
  }
  return ajvs[found[1]];
}

/**
 * Compiles `schema` with the ajv of its version, without keeping it in that ajv's own cache (keyed
 * by the object, so a long-lived ajv would otherwise keep every schema it has seen, and refuse a
 * second schema with the same `$id`). `$schema` only picks the ajv: the schema is compiled without
 * it, so the spelling of the URI (https, a trailing `#`) does not matter, and it is still checked
 * against its version's meta-schema. Throws ajv's or RE2JS's error when the schema cannot be
 * compiled.
 */
export function compileSchema(ajvs: SchemaAjv, schema: Record<string, unknown>): ValidateFunction {
  const ajv = ajvFor(ajvs, schema.$schema);
  const { $schema: _declared, ...rest } = schema;
  try {
    return ajv.compile(rest);
  } finally {
    ajv.removeSchema(rest);
  }
}
