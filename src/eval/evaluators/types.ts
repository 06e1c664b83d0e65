import type { z } from 'zod';
import type { CallContext, ModelGateway } from '../../models/types.ts';
import type { ExecuteRequest, ExecuteResult } from '../../tools/sandbox/types.ts';

/** What an evaluator reads: the item's input and expected output, the agent's output and the run's trace. */
export interface EvalCase {
  input: unknown;
  output: string | null;
  expected: unknown;
  trace: EvalTrace;
  /** Another answer to the same input to compare with (a baseline's output), for pairwise judges. */
  baseline?: string | null;
}

export interface EvalTrace {
  run_id: string | null;
  status: string;
  tool_calls: { name: string; arguments: unknown }[];
  latency_ms: number;
  tokens: number;
  cost_usd: number;
}

/** An evaluator's verdict: a score in [0, 1], whether it passes, and why (optional). */
export interface Verdict {
  score: number;
  pass: boolean;
  reason?: string;
}

/** What evaluators may use beyond the case: the model gateway (judge) and the QuickJS sandbox (custom code). */
export interface EvalDeps {
  models?: ModelGateway;
  /** The gateway's embeddings (any configured embedding model), for the embedding similarity kind. */
  embed?: (request: { model: string; input: string[] }, ctx: CallContext) => Promise<{ data: number[][] }>;
  /** Runs a program in a fresh QuickJS sandbox (`SandboxService.run` for the tool `evaluator`). */
  runJavascript?: (request: ExecuteRequest) => Promise<ExecuteResult>;
}

/** Per call: who pays for model calls, the judge's own budget, and the abort signal. */
export interface EvalContext {
  tenantId: string;
  tenantName: string;
  signal: AbortSignal;
  /**
   * The LLM judge's own budget: `charge` adds a call's cost and answers what is left (≤ 0: spent);
   * absent, the judge has no budget of its own (the tenant's still applies, through the gateway).
   */
  judgeBudget?: { left(): Promise<number>; charge(cost: number): Promise<void> };
}

export type Evaluate = (kase: EvalCase, ctx: EvalContext) => Promise<Verdict>;

/**
 * One kind of evaluator: its parameters (checked at the edge, so a bad pattern or schema is a 400
 * before anything runs) and how to make the function that scores a case.
 */
export interface EvaluatorKind<P extends z.ZodObject = z.ZodObject> {
  description: string;
  params: P;
  /** Cheap kinds run inline; the others (judge, custom code) call out. For docs and the bench. */
  cheap: boolean;
  create(params: z.infer<P>, deps: EvalDeps): Evaluate;
}

export const defineEvaluator = <P extends z.ZodObject>(kind: EvaluatorKind<P>): EvaluatorKind<P> => kind;

/** The text form of a value an evaluator compares: strings as they are, anything else as JSON. */
export const asText = (v: unknown): string =>
  v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);

export const binary = (pass: boolean, reason?: string): Verdict => ({ score: pass ? 1 : 0, pass, reason });

/** An evaluator that cannot judge this case (no expected output, bad configuration for it). */
export class EvaluatorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvaluatorError';
  }
}
