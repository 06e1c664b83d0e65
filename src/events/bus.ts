import { EventEmitter } from 'node:events';
import type { Db } from '../db/db.ts';

/**
 * Live notifications between the parts of Agentry (and between processes when scaled out).
 * The bus carries small signals ("task 123 changed"); the durable facts live in the store.
 */
export interface LiveBus {
  readonly kind: 'local' | 'pg_notify' | 'redis';
  publish(topic: string, message: string): Promise<void>;
  subscribe(topic: string, handler: (message: string) => void): Promise<() => Promise<void>>;
  /** Round-trip check for /health. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** In-process bus for the embedded store: one process, so an EventEmitter is the whole transport. */
export class LocalBus implements LiveBus {
  readonly kind = 'local' as const;
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  async publish(topic: string, message: string): Promise<void> {
    this.emitter.emit(topic, message);
  }

  async subscribe(topic: string, handler: (message: string) => void) {
    this.emitter.on(topic, handler);
    return async () => {
      this.emitter.off(topic, handler);
    };
  }

  async ping(): Promise<void> {}
  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

/** PostgreSQL LISTEN/NOTIFY: reaches every process on the same database. Topics map to channel names. */
export class PgNotifyBus implements LiveBus {
  readonly kind = 'pg_notify' as const;
  constructor(private readonly db: Db) {}

  publish(topic: string, message: string): Promise<void> {
    return this.db.notify(topic, message);
  }

  subscribe(topic: string, handler: (message: string) => void) {
    return this.db.listen(topic, handler);
  }

  async ping(): Promise<void> {
    await this.db.query('select 1');
  }

  async close(): Promise<void> {}
}
