import { type ToolDefinition, ToolError } from '../types.ts';
import type { SandboxService } from './sandbox.ts';
import { type ExecuteRequest, type ExecuteResult, SandboxRefusal } from './types.ts';

/** Runs through the service; a refusal becomes a tool error the model can relay. */
async function runTool(
  sandboxes: SandboxService,
  tool: string,
  type: 'bwrap' | 'quickjs',
  request: ExecuteRequest,
): Promise<ExecuteResult> {
  try {
    return await sandboxes.run(tool, type, request);
  } catch (err) {
    if (err instanceof SandboxRefusal) throw new ToolError(err.message);
    throw err;
  }
}

/** What the model sees of a run: the streams, the exit status and why it stopped early, if it did. */
function outcome(result: ExecuteResult, limitMs: number): Record<string, unknown> {
  return {
    exit_code: result.exit_code,
    stdout: result.stdout,
    stderr: result.stderr,
    ...(result.value !== undefined && { value: result.value }),
    ...(result.truncated && { truncated: true }),
    ...(result.killed && { killed: killedMessage(result.killed, limitMs) }),
  };
}

function killedMessage(why: NonNullable<ExecuteResult['killed']>, limitMs: number): string {
  switch (why) {
    case 'timeout':
      return `stopped after the ${limitMs} ms time limit`;
    case 'output_limit':
      return 'stopped: output exceeded the limit';
    case 'memory':
      return 'stopped: memory limit exceeded';
    case 'cancelled':
      return 'cancelled';
  }
}

/** `bash_execute`: a bash script in a fresh bubblewrap sandbox (no network, empty tmpfs workspace). */
export function bashExecuteTool(
  sandboxes: SandboxService,
  timeoutMs: number,
): ToolDefinition<{ command: string; stdin?: string }> {
  return {
    name: 'bash_execute',
    description:
      'Run a bash script in a fresh, isolated Linux sandbox: no network, an empty writable /workspace (deleted afterwards), read-only system tools in /usr. Returns exit_code, stdout and stderr.',
    parameters: {
      type: 'object',
      properties: {
        command: { type: 'string', minLength: 1, maxLength: 100_000 },
        stdin: { type: 'string', maxLength: 1_000_000 },
      },
      required: ['command'],
      additionalProperties: false,
    },
    requires_approval: true,
    // The registry's limit sits above the sandbox's own, so the sandbox's timeout answers first.
    timeout_ms: timeoutMs + 5_000,
    async handler(args, ctx) {
      if (args.command.includes('\0')) throw new ToolError('command must not contain NUL bytes');
      const result = await runTool(sandboxes, 'bash_execute', 'bwrap', {
        code: args.command,
        stdin: args.stdin,
        signal: ctx.signal,
      });
      return outcome(result, timeoutMs);
    },
  };
}

/** `run_javascript`: JavaScript in a fresh QuickJS (WebAssembly) sandbox; the last expression is the value. */
export function runJavascriptTool(
  sandboxes: SandboxService,
  timeoutMs: number,
): ToolDefinition<{ code: string; input?: unknown }> {
  return {
    name: 'run_javascript',
    description:
      'Evaluate JavaScript (ES2023) in an isolated interpreter with no I/O, network, timers or modules. The value of the last expression is returned as `value`; console.log output as stdout. `input` is available as a global.',
    parameters: {
      type: 'object',
      properties: {
        code: { type: 'string', minLength: 1, maxLength: 100_000 },
        input: {},
      },
      required: ['code'],
      additionalProperties: false,
    },
    timeout_ms: timeoutMs + 5_000,
    async handler(args, ctx) {
      const result = await runTool(sandboxes, 'run_javascript', 'quickjs', {
        code: args.code,
        input: args.input,
        signal: ctx.signal,
      });
      return outcome(result, timeoutMs);
    },
  };
}
