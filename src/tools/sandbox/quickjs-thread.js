// Entry of a QuickJS worker thread. A worker starts without the main thread's module hooks (its
// execArgv is empty), so it registers the same TypeScript loader the server runs with before it
// loads the TypeScript side of the thread.
import '../../../bin/ts-loader.js';

await import('./quickjs-thread.ts');
