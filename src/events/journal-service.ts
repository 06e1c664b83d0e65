import type { Db } from '../db/db.ts';
import { type Actor, type JournalEntry, writeJournal } from './journal.ts';
import { type JournalQuery, readJournal } from './journal-query.ts';

/**
 * The audit journal for callers that hold no transaction of their own (routes): a change that has
 * one writes its row with `writeJournal(tx, …)` in it instead.
 */
export class JournalService {
  constructor(private readonly db: Db) {}

  write(who: Actor, entry: JournalEntry): Promise<void> {
    return writeJournal(this.db, who, entry);
  }

  read(tenantId: string, q: JournalQuery) {
    return readJournal(this.db, tenantId, q);
  }
}
