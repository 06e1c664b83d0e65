import type { Queryable } from '../../db/db.ts';
import type { EvalContext } from '../evaluators/types.ts';

/** An experiment's LLM judges' own budget (`judge_max_cost_usd`), kept on its row. */
export function judgeBudget(
  db: Queryable,
  experimentId: string,
  max: number,
): NonNullable<EvalContext['judgeBudget']> {
  return {
    left: async () => {
      const [row] = await db.query<{ judge_cost: number }>(
        'select judge_cost from experiments where id = $1',
        [experimentId],
      );
      return max - Number(row?.judge_cost ?? 0);
    },
    charge: async (cost) => {
      await db.query('update experiments set judge_cost = judge_cost + $2 where id = $1', [
        experimentId,
        cost,
      ]);
    },
  };
}
