// Entry of the embedded store's thread. A worker starts without the main thread's module hooks (its
// execArgv is empty), so it registers the same TypeScript loader the server runs with before it
// loads the TypeScript side of the thread (as the QuickJS threads do, tools/sandbox/quickjs-thread.js).
import '../../bin/ts-loader.js';

await import('./pglite-thread.ts');
