import type { ErrorObject, ValidateFunction } from 'ajv';
import { AppError } from '../errors.ts';
import { compileSchema, schemaAjv } from '../text/schema-ajv.ts';

export interface PayloadIssue {
  in: 'body';
  path: string;
  message: string;
}

/**
 * Validates task payloads against the JSON Schema a task type declares (`input_schema`). Compiled
 * validators are cached by the schema's text, so an agent's schema is compiled once, not per task.
 * Patterns match in linear time (`schemaAjv`): a payload cannot stall the process.
 */
export class PayloadValidator {
  private readonly ajv = schemaAjv();
  private readonly cache = new Map<string, ValidateFunction>();

  constructor(private readonly maxCached = 500) {}

  /** Throws 400 with one detail per failing field (`payload.a.b`), or 422 when the schema itself is broken. */
  check(schema: Record<string, unknown>, payload: unknown, taskType: string): void {
    const validate = this.compile(schema, taskType);
    if (validate(payload)) return;
    const details = (validate.errors ?? []).map(toIssue);
    throw new AppError(
      'validation_error',
      `payload does not match the input schema of task type ${taskType}: ${details
        .map((d) => `${d.path}: ${d.message}`)
        .join('; ')}`,
      { details },
    );
  }

  private compile(schema: Record<string, unknown>, taskType: string): ValidateFunction {
    const key = JSON.stringify(schema);
    let validate = this.cache.get(key);
    if (validate) return validate;
    try {
      validate = compileSchema(this.ajv, schema);
    } catch (err) {
      throw new AppError(
        'unprocessable',
        `the input schema of task type ${taskType} is not a valid JSON Schema: ${(err as Error).message}`,
      );
    }
    if (this.cache.size >= this.maxCached) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, validate);
    return validate;
  }
}

function toIssue(e: ErrorObject): PayloadIssue {
  const segments = e.instancePath.split('/').slice(1);
  // A missing required property is reported on its parent; name the property itself.
  if (e.keyword === 'required')
    segments.push(String((e.params as { missingProperty: string }).missingProperty));
  if (e.keyword === 'additionalProperties') {
    segments.push(String((e.params as { additionalProperty: string }).additionalProperty));
  }
  return { in: 'body', path: ['payload', ...segments].join('.'), message: e.message ?? e.keyword };
}
