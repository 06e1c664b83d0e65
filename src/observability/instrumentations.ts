import { createRequire } from 'node:module';
import { context, type TracerProvider } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { type Instrumentation, registerInstrumentations } from '@opentelemetry/instrumentation';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';

/**
 * The official client instrumentations, registered only when tracing is on (tracing.ts) and only
 * for the clients this process uses: PostgreSQL (`pg`, `pg-pool`) and Redis (`ioredis`). They
 * find their parent in the active context, so the AsyncLocalStorage context manager comes with
 * them, and only with them: it costs every promise of the process, measured in bench/tracing.ts
 * as a third more per chat turn on the embedded store, which has no client to trace.
 *
 * Both require a parent span: the store's background loops (worker polls, LISTEN, sweeps) would
 * otherwise each make a root trace per statement.
 */
export function registerClientInstrumentations(
  provider: TracerProvider,
  names: readonly ('pg' | 'ioredis')[],
): void {
  if (names.length === 0) return;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const instrumentations: Instrumentation[] = [];
  const modules: string[] = [];
  if (names.includes('pg')) {
    // No `pg-pool.connect` / `pg.connect` spans: one per checkout of a pooled connection, they
    // doubled every query's spans and say nothing a slow `pg.query` span does not.
    instrumentations.push(new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }));
    modules.push('pg', 'pg-pool');
  }
  if (names.includes('ioredis')) {
    instrumentations.push(new IORedisInstrumentation({ requireParentSpan: true }));
    modules.push('ioredis');
  }
  registerInstrumentations({ tracerProvider: provider, instrumentations });
  // The drivers were imported (as ES modules) before the SDK started, so the require hook above has
  // not seen them yet: one require each lets it patch their classes in place, the same classes the
  // imports hold.
  const require = createRequire(import.meta.url);
  for (const name of modules) require(name);
}
