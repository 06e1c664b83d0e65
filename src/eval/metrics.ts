import { Counter, type Registry } from 'prom-client';
import type { BoundEvaluator, ScoreResult } from './evaluators/score.ts';

/** Experiments and evaluators in /metrics: items run (by outcome) and scores (by evaluator and outcome). */
export class EvalMetrics {
  private readonly items: Counter<'outcome'>;
  private readonly scores: Counter<'evaluator' | 'outcome'>;

  constructor(registry: Registry) {
    this.items = new Counter({
      name: 'agentry_eval_items_total',
      help: 'Experiment items run, by outcome (completed, error)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.scores = new Counter({
      name: 'agentry_eval_scores_total',
      help: 'Evaluator verdicts, by evaluator type and outcome (pass, fail, error)',
      labelNames: ['evaluator', 'outcome'],
      registers: [registry],
    });
  }

  item = (outcome: 'completed' | 'error'): void => {
    this.items.inc({ outcome });
  };

  score = (evaluator: BoundEvaluator, result: ScoreResult): void => {
    this.scores.inc({
      evaluator: evaluator.type,
      outcome: result.error ? 'error' : result.pass ? 'pass' : 'fail',
    });
  };
}
