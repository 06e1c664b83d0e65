import { createRequire } from 'node:module';
import { context, type TracerProvider } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';

/**
 * The official instrumentations, registered only when tracing is on (tracing.ts): PostgreSQL
 * (`pg`, `pg-pool`) and Redis (`ioredis`) client spans. They find their parent in the active
 * context, so a context manager (AsyncLocalStorage) is registered with them; with tracing off
 * neither exists and nothing is patched.
 *
 * Both require a parent span: the store's and Redis's background loops (worker polls, LISTEN,
 * stream reads) would otherwise each make a root trace per statement.
 */
export function registerClientInstrumentations(provider: TracerProvider): void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  // The drivers were imported (as ES modules) before the SDK started, so the require hook above has
  // not seen them yet: one require each lets it patch their classes in place, the same classes the
  // imports hold. A driver that is not installed is simply not traced.
  const require = createRequire(import.meta.url);
  for (const name of ['pg', 'pg-pool', 'ioredis']) {
    try {
      require(name);
    } catch {
      // not installed
    }
  }
}
