/** Limits applied to one sandbox. Every backend enforces what it can and reports the rest. */
export interface SandboxLimits {
  /** Wall-clock time one execution may take before the sandbox is killed. */
  timeout_ms: number;
  /** CPU seconds (RLIMIT_CPU) and the share of one core (cgroup CPU quota, 1 = a whole core). */
  cpu_seconds: number;
  cpu_quota: number;
  /** Memory in bytes, tmpfs pages included (cgroup memory limit; address-space rlimit otherwise). */
  memory_bytes: number;
  /** Processes and threads alive at once (cgroup pids limit; RLIMIT_NPROC otherwise). */
  max_processes: number;
  /** Open file descriptors per process (RLIMIT_NOFILE). */
  max_open_files: number;
  /** Size of the tmpfs workspace (and of /tmp) in bytes. */
  workspace_bytes: number;
  /** Bytes kept of stdout and of stderr each; beyond it the output is cut with a marker and the sandbox killed. */
  max_output_bytes: number;
}

export interface ExecuteRequest {
  /** bwrap: a bash script. quickjs: JavaScript source (its last expression is the result). */
  code: string;
  /** Bytes given to the program's standard input (bwrap). */
  stdin?: string;
  /** Values handed into the sandbox (quickjs: global `input`, JSON-copied). */
  input?: unknown;
  /** Shortens the configured wall-clock limit for this call (never lengthens it). */
  timeout_ms?: number;
  signal?: AbortSignal;
}

export interface ExecuteResult {
  /** Exit status (bwrap), 0 or 1 (quickjs); null when the sandbox was killed. */
  exit_code: number | null;
  stdout: string;
  stderr: string;
  /** quickjs: the value of the script's last expression, JSON-copied out. */
  value?: unknown;
  timed_out: boolean;
  /** Output went past `max_output_bytes` and was cut. */
  truncated: boolean;
  /** Why the sandbox was stopped early: timeout, output limit, memory, cancelled. */
  killed?: 'timeout' | 'output_limit' | 'memory' | 'cancelled';
  duration_ms: number;
}

/** One prepared sandbox: used for a single execution, then destroyed. */
export interface Sandbox {
  readonly id: string;
  readonly type: string;
}

/**
 * A way of isolating code. `acquire` prepares a fresh sandbox (the slow part, done ahead of time by
 * the warm pool), `execute` runs one program in it, `release` destroys it with everything inside.
 */
export interface SandboxBackend<S extends Sandbox = Sandbox> {
  readonly type: string;
  acquire(): Promise<S>;
  execute(sandbox: S, request: ExecuteRequest): Promise<ExecuteResult>;
  release(sandbox: S): Promise<void>;
  /** The isolation layers in force, for /health and the benchmark. */
  describe(): Record<string, unknown>;
}

/** The machine cannot isolate code: says what is missing and how to get it. Never run on the host instead. */
export class SandboxUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxUnavailableError';
  }
}

/**
 * A sandboxed call refused before any code ran: backend unavailable, tool disabled by its breaker,
 * no sandbox free in time. The message is meant for the model (the tools turn it into a tool error).
 */
export class SandboxRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxRefusal';
  }
}
