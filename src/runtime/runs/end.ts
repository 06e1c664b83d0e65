import { AppError } from '../../errors.ts';
import type { Usage } from '../../models/types.ts';
import type { ToolCallRecord } from '../schema.ts';
import type { ExecuteDeps, RunResult, RunSpec } from '../types.ts';
import { LoopError, type Round, RunAborted } from '../types.ts';
import { event, type PendingEvent } from './events.ts';
import { addUsage, type NewMessage } from './rows.ts';
import { recordStep, release } from './step.ts';
import { stoppedBy } from './stopped.ts';

/**
 * Persisting a run that is not executed by `executeRun` (multi-agent and remote runs): rounds as
 * they finish, then the same terminal events and states as an in-process run, so streams, runs and
 * steps read the same whatever executed them.
 */
export class RunWriter {
  private chain: Promise<unknown> = Promise.resolve();
  /** Over this execution. */
  usage: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  modelCalls = 0;

  constructor(
    private readonly deps: ExecuteDeps,
    private readonly run: RunSpec,
  ) {}

  /**
   * Writes a round with the events emitted so far. Parallel branches share one run: writes are
   * queued one after another so steps and messages keep their order. Throws `RunAborted` when the
   * run is no longer ours (cancelled, reaped).
   */
  commit(round: Partial<Round>): Promise<void> {
    const next = this.chain.then(async () => {
      this.usage = addUsage(this.usage, round.usage ?? zero());
      this.modelCalls += round.modelCalls ?? 0;
      const ok = await this.advance({
        messages: round.messages,
        steps: round.steps,
        modelCalls: round.modelCalls,
        usage: round.usage,
      });
      if (!ok) throw new RunAborted('cancelled', 'the run was ended elsewhere');
    });
    // The chain only orders the writes; `next` is returned to the caller, who sees its failure.
    this.chain = next.catch(() => {});
    return next;
  }

  async complete(answer: {
    text: string;
    model: string;
    finishReason?: string;
    toolCalls?: ToolCallRecord[];
    messages?: NewMessage[];
    extra?: Record<string, unknown>;
  }): Promise<RunResult> {
    await this.chain;
    const usage = addUsage(this.run.usage, this.usage);
    const result = {
      text: answer.text,
      usage,
      duration_ms: Date.now() - this.run.startedAt,
      model_calls: this.run.modelCalls + this.modelCalls,
      tool_calls: answer.toolCalls?.length ?? 0,
      ...answer.extra,
    };
    await this.advance({
      status: 'completed',
      output: answer.text,
      messages: answer.messages,
      terminal: [event('result', result), event('session_end', { status: 'completed' })],
    });
    return {
      status: 'completed',
      text: answer.text,
      model: answer.model,
      finishReason: answer.finishReason ?? 'stop',
      toolCalls: answer.toolCalls ?? [],
      usage,
    };
  }

  /**
   * Ends the run as failed (or reports it cancelled: whoever cancelled wrote its end). `err` is what
   * went wrong; an `AppError` keeps its code for the HTTP answer, `code` overrides the run's code.
   */
  async fail(
    err: unknown,
    options: { code?: string; details?: Record<string, unknown> } = {},
  ): Promise<RunResult> {
    await this.chain;
    const usage = addUsage(this.run.usage, this.usage);
    const stopped = stoppedBy(this.run.signal, err);
    if (stopped.kind === 'cancelled') {
      return { status: 'cancelled', error: { code: 'cancelled', message: stopped.reason.message }, usage };
    }
    if (stopped.kind === 'released') return release(this.deps, this.run, usage);
    const { reason, error: base } = stopped;
    if (stopped.internal) this.deps.log.error({ err: reason, run_id: this.run.runId }, 'run failed');
    // A team's errors name their own run code (`max_handoffs`, `node_failed`) and details.
    const tagged =
      reason instanceof AppError && typeof reason.details === 'object' && reason.details !== null
        ? (reason.details as Record<string, unknown>)
        : undefined;
    const runCode = typeof tagged?.run_code === 'string' ? tagged.run_code : undefined;
    const error = { code: options.code ?? runCode ?? base.code, message: base.message };
    const round = reason instanceof LoopError ? reason.round : {};
    await this.advance({
      ...round,
      status: 'failed',
      error,
      terminal: [
        event('error', { ...tagged, ...options.details, ...error }),
        event('session_end', { status: 'failed' }),
      ],
    }).catch((e) =>
      this.deps.log.error({ err: e, run_id: this.run.runId }, 'could not record the run failure'),
    );
    return { status: 'failed', error, cause: reason, usage };
  }

  private async advance(
    a: Partial<Round> & {
      status?: 'completed' | 'failed';
      output?: string;
      error?: { code: string; message: string };
      terminal?: PendingEvent[];
    },
  ): Promise<boolean> {
    const { terminal = [], ...step } = a;
    // A failed batch does not keep the run's failure from being recorded.
    const written = await recordStep(this.deps, this.run, step, terminal, a.status === 'failed');
    if (!written) return false;
    if (a.status && written.queued) this.deps.onQueued(this.run.sessionId);
    return true;
  }
}

const zero = (): Usage => ({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
