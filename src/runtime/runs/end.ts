import { AppError } from '../../errors.ts';
import type { Usage } from '../../models/types.ts';
import { addUsage, zeroUsage } from '../../models/usage-details.ts';
import type { ToolCallRecord } from '../schema.ts';
import type { ExecuteDeps, RunResult, RunSpec } from '../types.ts';
import { type Round, RunAborted } from '../types.ts';
import type { NewMessage } from './rows.ts';
import { finishStep } from './step.ts';
import { endRun } from './stopped.ts';

/**
 * Persisting a run that is not executed by `executeRun` (multi-agent and remote runs): rounds as
 * they finish, then the same terminal events and states as an in-process run, so streams, runs and
 * steps read the same whatever executed them.
 */
export class RunWriter {
  private chain: Promise<unknown> = Promise.resolve();
  /** Over this execution. */
  usage: Usage = zeroUsage();
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
      this.usage = addUsage(this.usage, round.usage ?? zeroUsage());
      this.modelCalls += round.modelCalls ?? 0;
      const ok = await finishStep(this.deps, this.run, {
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
    const { text, model, finishReason = 'stop', toolCalls = [], extra } = answer;
    const modelCalls = this.run.modelCalls + this.modelCalls;
    return endRun(
      this.deps,
      this.run,
      {
        answer: { text, model, finishReason, toolCalls, modelCalls, extra },
        round: { messages: answer.messages },
      },
      addUsage(this.run.usage, this.usage),
    );
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
    const describe = (reason: unknown) => {
      // A team's errors name their own run code (`max_handoffs`, `node_failed`) and details.
      const tagged =
        reason instanceof AppError && typeof reason.details === 'object' && reason.details !== null
          ? (reason.details as Record<string, unknown>)
          : undefined;
      const runCode = typeof tagged?.run_code === 'string' ? tagged.run_code : undefined;
      return { code: options.code ?? runCode, details: { ...tagged, ...options.details } };
    };
    return endRun(this.deps, this.run, { err, describe }, addUsage(this.run.usage, this.usage));
  }
}
