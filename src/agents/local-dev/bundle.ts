import type { Message } from 'esbuild';

/**
 * Local-dev agent bundles: one ESM file holding src/agent.ts and everything it imports from the
 * project and node_modules, for Node 20 (what runs in the sandbox). Node's built-ins stay imports.
 * The banner gives bundled CommonJS packages a working `require` for built-ins.
 */
const BANNER =
  "import { createRequire as __agentryCreateRequire } from 'node:module'; const require = __agentryCreateRequire(import.meta.url);";

/** A bundle that does not build: the compiler's messages, one `file:line:col: text` per line. */
export class BundleBuildError extends Error {
  constructor(messages: Message[]) {
    super(messages.map(describe).join('\n') || 'the bundle did not build');
    this.name = 'BundleBuildError';
  }
}

/** Builds the bundle of an agent project from its entry file (the CLI's `agentry deploy`). */
export async function bundleAgent(entry: string): Promise<string> {
  // esbuild is loaded by a deploy, not by every process that imports this module.
  const { build } = await import('esbuild');
  try {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      banner: { js: BANNER },
      legalComments: 'none',
      logLevel: 'silent',
    });
    return result.outputFiles[0]!.text;
  } catch (err) {
    throw new BundleBuildError((err as { errors?: Message[] }).errors ?? [messageOf(err)]);
  }
}

/**
 * The server's build step for an uploaded bundle: it must parse as an ES module for Node 20. What
 * it imports and whether it exports `handle` is checked by loading it in a sandbox afterwards.
 */
export async function checkBundleSyntax(code: string): Promise<void> {
  const { transform } = await import('esbuild');
  try {
    await transform(code, { loader: 'js', format: 'esm', target: 'node20', sourcefile: 'bundle.mjs' });
  } catch (err) {
    throw new BundleBuildError((err as { errors?: Message[] }).errors ?? [messageOf(err)]);
  }
}

function describe(m: Message): string {
  const at = m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : '';
  return `${at}${m.text}`;
}

const messageOf = (err: unknown): Message => ({
  id: '',
  pluginName: '',
  text: (err as Error).message ?? String(err),
  location: null,
  notes: [],
  detail: undefined,
});
