import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { ToolSpec } from '../models/types.ts';
import { parseToolArguments } from './arguments.ts';
import { type ToolContext, type ToolDefinition, ToolError, type ToolOutcome } from './types.ts';

interface Entry {
  def: ToolDefinition;
  /** Absent until the first call for a tool registered with `compileOnFirstCall`. */
  validate?: ValidateFunction;
}

export interface ToolRegistryOptions {
  /** A tool call's time limit when the tool sets none. */
  defaultTimeoutMs: number;
}

export interface RegisterOptions {
  /**
   * Compiles the schema at the tool's first call instead of now. For the built-in tools, whose
   * schemas a test compiles: at start-up Ajv generates code for each and checks the first against
   * its meta-schema, 0.1–0.2 s of a server's start for thirteen schemas. A tool from anywhere else is
   * compiled at registration, so a broken schema fails at start-up, not mid-run.
   */
  compileOnFirstCall?: boolean;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The tools agents may call, by name. Each call's arguments are parsed and validated against the
 * tool's JSON Schema before its handler runs; the handler gets an abort signal that fires on the
 * run's cancellation or the tool's time limit, whichever comes first. Failures come back as a
 * message for the model (a tool result), never as an exception that would end the run.
 */
export class ToolRegistry {
  private readonly tools = new Map<string, Entry>();
  // allErrors: the model gets every problem with its arguments at once, not one per retry.
  private readonly ajv = new Ajv({ allErrors: true, strict: false });

  constructor(private readonly options: ToolRegistryOptions) {}

  /** Adds a tool; its schema is compiled now (unless `compileOnFirstCall`), so a broken one fails at start-up. */
  register<A>(def: ToolDefinition<A>, options: RegisterOptions = {}): this {
    if (!NAME.test(def.name)) throw new Error(`invalid tool name: ${def.name}`);
    if (this.tools.has(def.name)) throw new Error(`tool ${def.name} is already registered`);
    const validate = options.compileOnFirstCall ? undefined : this.ajv.compile(def.parameters);
    this.tools.set(def.name, { def: def as unknown as ToolDefinition, validate });
    return this;
  }

  get(name: string): ToolDefinition | undefined {
    return this.tools.get(name)?.def;
  }

  names(): string[] {
    return [...this.tools.keys()];
  }

  /** The tools among `names` that exist, as offered to the model; unknown names are left out. */
  specs(names: readonly string[]): ToolSpec[] {
    const out: ToolSpec[] = [];
    for (const name of names) {
      const def = this.tools.get(name)?.def;
      if (def) {
        out.push({
          type: 'function',
          function: { name: def.name, description: def.description, parameters: def.parameters },
        });
      }
    }
    return out;
  }

  /**
   * `specsFor` without waiting: a tenant's own tools as last listed in this process (for the run's
   * `system` event, written before the run starts).
   */
  knownSpecs(_tenantId: string, names: readonly string[]): ToolSpec[] {
    return this.specs(names);
  }

  /**
   * The tools among `names` offered to an agent of `tenantId`: `specs`, plus the tenant's own tools
   * (MCP servers) in registries that have them. Async: those may need a connection to list.
   */
  async specsFor(_tenantId: string, names: readonly string[]): Promise<ToolSpec[]> {
    return this.specs(names);
  }

  /** Parses, validates and runs one call. Never throws: every failure is an outcome the model sees. */
  async execute(name: string, rawArguments: string, ctx: ToolContext): Promise<ToolOutcome> {
    const entry = this.tools.get(name);
    if (!entry) return { ok: false, error: `unknown tool: ${name}` };
    const parsed = parseToolArguments(rawArguments);
    if (!parsed.ok) return parsed;
    const args = parsed.args;
    let validate: ValidateFunction;
    try {
      validate = entry.validate ??= this.ajv.compile(entry.def.parameters);
    } catch (err) {
      // Only a built-in's schema is compiled here, and a test compiles each: not the model's doing.
      return { ok: false, error: `${name} failed: internal error (its schema: ${(err as Error).message})` };
    }
    if (!validate(args)) {
      return { ok: false, error: `invalid arguments: ${describe(validate.errors ?? [])}` };
    }
    const timeoutMs = entry.def.timeout_ms ?? this.options.defaultTimeoutMs;
    // A timer of our own rather than AbortSignal.timeout (unref'd): a pending tool call keeps the
    // process alive until it settles or times out.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error('tool timeout')), timeoutMs);
    const signal = AbortSignal.any([ctx.signal, timeout.signal]);
    try {
      const output = await raceAbort(
        entry.def.handler(args as Record<string, unknown>, { ...ctx, signal }),
        signal,
      );
      return { ok: true, output };
    } catch (err) {
      if (timeout.signal.aborted && !ctx.signal.aborted) {
        return { ok: false, error: `${name} did not finish within ${timeoutMs} ms` };
      }
      if (ctx.signal.aborted) return { ok: false, error: `${name} was cancelled` };
      if (err instanceof ToolError) return { ok: false, error: err.message };
      // Internal details (stack, host paths) are not for the model; the run step keeps the message.
      return { ok: false, error: `${name} failed: internal error (${(err as Error).name ?? 'Error'})` };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Settles with the handler, or rejects as soon as the signal aborts (a handler that ignores it cannot hang the run). */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function describe(errors: ErrorObject[]): string {
  return errors
    .map((e) => {
      let at = e.instancePath || '(arguments)';
      if (e.keyword === 'required')
        at = `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}`;
      if (e.keyword === 'additionalProperties')
        at = `${e.instancePath}/${(e.params as { additionalProperty: string }).additionalProperty}`;
      return `${at}: ${e.message ?? e.keyword}`;
    })
    .join('; ');
}
