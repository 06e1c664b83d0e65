import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import releaseSync from '@jitl/quickjs-wasmfile-release-sync';
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSSyncVariant,
  shouldInterruptAfterDeadline,
} from 'quickjs-emscripten-core';
import { OutputCollector } from './output.ts';
import type { ExecuteResult, SandboxLimits } from './types.ts';

/** One fresh interpreter: its own WebAssembly instance and memory, used for a single program. */
export interface PreparedInterpreter {
  runtime: QuickJSRuntime;
  context: QuickJSContext;
}

/** What the worker hands the interpreter: the request without its (thread-bound) abort signal. */
export interface EvaluateRequest {
  code: string;
  input?: unknown;
  timeout_ms: number;
}

// The package's types describe its CommonJS shape; under ESM (how the server runs) the default
// export is the variant itself.
const variant = releaseSync as unknown as QuickJSSyncVariant;

// The project's type libraries (no lib.dom) leave WebAssembly undeclared; the little used here:
declare const WebAssembly: {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
};
export type WasmModule = { readonly __brand: 'WebAssembly.Module' };
type WasmMemory = { readonly __brand: 'WebAssembly.Memory' };
type VariantOptions = Parameters<typeof newVariant>[1];

const WASM_PAGE = 64 * 1024;
/** Emscripten's default initial heap (16 MiB); the memory handed in must be at least that. */
const INITIAL_PAGES = (16 * 1024 * 1024) / WASM_PAGE;

/** Stack for the interpreter: deep enough for ordinary recursion, a fraction of the memory limit. */
const MAX_STACK_BYTES = 512 * 1024;

/** The interpreter's WebAssembly code, compiled once per thread; each interpreter instantiates it anew. */
export async function compileQuickJs(): Promise<WasmModule> {
  const bytes = await readFile(
    createRequire(import.meta.url).resolve('@jitl/quickjs-wasmfile-release-sync/wasm'),
  );
  return WebAssembly.compile(bytes);
}

/** A fresh interpreter with the memory and stack limits applied (the slow part, done ahead of use). */
export async function prepareInterpreter(
  wasmModule: WasmModule,
  limits: SandboxLimits,
): Promise<PreparedInterpreter> {
  // QuickJS's own malloc limit is not enough here: this build cannot measure allocation sizes
  // (no malloc_usable_size), so large allocations slip past it. A WebAssembly memory with a
  // maximum is a hard ceiling the interpreter cannot grow past.
  const maximum = Math.max(INITIAL_PAGES, Math.ceil(limits.memory_bytes / WASM_PAGE));
  const wasmMemory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum });
  const module = await newQuickJSWASMModuleFromVariant(
    newVariant(variant, { wasmModule, wasmMemory } as unknown as VariantOptions),
  );
  const runtime = module.newRuntime();
  runtime.setMemoryLimit(limits.memory_bytes);
  runtime.setMaxStackSize(MAX_STACK_BYTES);
  return { runtime, context: runtime.newContext() };
}

/**
 * Runs one program to completion, synchronously: the caller is a worker thread, never the server's
 * main thread. The interrupt handler stops it at the deadline or when `cancel[0]` is set (by the
 * main thread, through shared memory, since this thread takes no messages while it runs).
 */
export function evaluate(
  interpreter: PreparedInterpreter,
  limits: SandboxLimits,
  request: EvaluateRequest,
  cancel: Int32Array,
): ExecuteResult {
  const started = performance.now();
  const { runtime, context: vm } = interpreter;
  const deadline = Date.now() + request.timeout_ms;
  const deadlinePassed = shouldInterruptAfterDeadline(deadline);
  const cancelRequested = () => Atomics.load(cancel, 0) === 1;
  let cancelled = false;
  runtime.setInterruptHandler((rt) => {
    if (cancelRequested()) cancelled = true;
    return cancelled || deadlinePassed(rt);
  });
  let killed: ExecuteResult['killed'];
  const stdout = new OutputCollector(limits.max_output_bytes, () => {
    killed ??= 'output_limit';
    cancelled = true;
  });
  const stderr = new OutputCollector(limits.max_output_bytes, () => {
    killed ??= 'output_limit';
    cancelled = true;
  });
  installConsole(vm, stdout, stderr);
  const inputJson = JSON.stringify(request.input ?? null);
  vm.unwrapResult(vm.evalCode(`globalThis.input = JSON.parse(${JSON.stringify(inputJson)});`)).dispose();

  let value: unknown;
  let failed = false;
  try {
    const result = vm.evalCode(request.code, 'tool.js');
    if (result.error) {
      failed = true;
      stderr.push(Buffer.from(`${describeError(vm, result.error)}\n`));
      result.error.dispose();
    } else {
      const settled = settle(vm, runtime, result.value);
      result.value.dispose();
      if (settled.ok) value = settled.value;
      else {
        failed = true;
        stderr.push(Buffer.from(`${settled.error}\n`));
      }
    }
  } catch (err) {
    // The interpreter itself trapped (typically an allocation failing at the WebAssembly memory
    // ceiling). The instance is discarded with the sandbox; the host is unaffected.
    failed = true;
    stderr.push(Buffer.from(`the interpreter stopped: ${(err as Error).message}\n`));
    if (!killed && Date.now() < deadline && !cancelRequested()) killed = 'memory';
  }
  if (failed && !killed) {
    if (Date.now() >= deadline) killed = 'timeout';
    else if (cancelRequested()) killed = 'cancelled';
    else if (/out of memory/i.test(stderr.text())) killed = 'memory';
  }
  return {
    exit_code: failed ? 1 : 0,
    stdout: stdout.text(),
    stderr: stderr.text(),
    ...(value !== undefined && { value }),
    timed_out: killed === 'timeout',
    truncated: stdout.truncated || stderr.truncated,
    ...(killed && { killed }),
    duration_ms: performance.now() - started,
  };
}

export function disposeInterpreter(interpreter: PreparedInterpreter): void {
  try {
    interpreter.context.dispose();
    interpreter.runtime.dispose();
  } catch {
    // A runtime stopped by the memory limit may refuse a clean dispose; its WebAssembly instance
    // is dropped with it anyway.
  }
}

function installConsole(vm: QuickJSContext, stdout: OutputCollector, stderr: OutputCollector): void {
  const consoleObj = vm.newObject();
  const writer = (to: OutputCollector) =>
    vm.newFunction('log', (...args: QuickJSHandle[]) => {
      const line = args
        .map((a) => (vm.typeof(a) === 'string' ? vm.getString(a) : stringify(vm.dump(a))))
        .join(' ');
      to.push(Buffer.from(`${line}\n`));
    });
  for (const [name, to] of [
    ['log', stdout],
    ['info', stdout],
    ['error', stderr],
    ['warn', stderr],
  ] as const) {
    const fn = writer(to);
    vm.setProp(consoleObj, name, fn);
    fn.dispose();
  }
  vm.setProp(vm.global, 'console', consoleObj);
  consoleObj.dispose();
}

/** The script's value; a promise is driven through the job queue until it settles. */
function settle(
  vm: QuickJSContext,
  runtime: QuickJSRuntime,
  handle: QuickJSHandle,
): { ok: true; value: unknown } | { ok: false; error: string } {
  const jobs = runtime.executePendingJobs();
  if (jobs.error) {
    const error = describeError(vm, jobs.error);
    jobs.error.dispose();
    return { ok: false, error };
  }
  const state = vm.getPromiseState(handle);
  if (state.type === 'pending')
    return { ok: false, error: 'the script returned a promise that never settled' };
  if (state.type === 'rejected') {
    const error = describeError(vm, state.error);
    state.error.dispose();
    return { ok: false, error };
  }
  const value = state.notAPromise ? vm.dump(handle) : vm.dump(state.value);
  if (!state.notAPromise) state.value.dispose();
  return { ok: true, value: jsonSafe(value) };
}

function describeError(vm: QuickJSContext, handle: QuickJSHandle): string {
  const dumped = vm.dump(handle) as { name?: string; message?: string } | string;
  if (typeof dumped === 'object' && dumped !== null && 'message' in dumped) {
    return `${dumped.name ?? 'Error'}: ${dumped.message}`;
  }
  return `Uncaught ${stringify(dumped)}`;
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function jsonSafe(value: unknown): unknown {
  try {
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  } catch {
    return String(value);
  }
}
