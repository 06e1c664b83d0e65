/** Benchmarks count store statements per operation: a figure that a busy machine does not move. */

/** Statements sent to the store (each statement of a transaction counts), set up by `countStatements`. */
export const counted = { statements: 0 };

/** Counts every statement the app's store runs, transactions' statements included. */
export function countStatements(db: {
  query: (...a: never[]) => Promise<unknown>;
  exec: (...a: never[]) => Promise<unknown>;
  transaction: (fn: (tx: never) => Promise<unknown>) => Promise<unknown>;
}): void {
  const wrap = <T extends { query: unknown; exec: unknown }>(target: T): T => {
    for (const m of ['query', 'exec'] as const) {
      const original = (target[m] as (...a: unknown[]) => Promise<unknown>).bind(target);
      (target as Record<string, unknown>)[m] = (...a: unknown[]) => {
        counted.statements += 1;
        return original(...a);
      };
    }
    return target;
  };
  wrap(db);
  const transaction = db.transaction.bind(db);
  db.transaction = (fn) => transaction((tx) => fn(wrap(tx as { query: unknown; exec: unknown }) as never));
}
