// Lets Node run Agentry's TypeScript sources: `import './ts-loader.js'` (or `node --import` it)
// registers module hooks that compile each .ts module with esbuild as it loads, types stripped,
// nothing else changed. It is not tsx's loader because tsx compiles with esbuild's keepNames, which
// wraps every named function in `__name(fn, "…")`: each closure made at run time then carries its
// own name property (~250 bytes more, for as long as the closure lives), for names that Node keeps
// anyway when nothing is minified. On the gateway's hot path that was ~9% of what a call in flight
// holds, which every young-generation GC copies (bench/gateway.ts --live-heap).
import { register } from 'node:module';

process.setSourceMapsEnabled(true);
register('./ts-hooks.js', import.meta.url);
