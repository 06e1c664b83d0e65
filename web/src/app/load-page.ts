import type { ComponentType } from 'react';
import { type Page, pages } from './pages';

type Module = { default: ComponentType };
// Every feature's index.ts, each its own chunk: the first load carries the shell and the page it opens.
const modules = import.meta.glob<Module>('../features/*/index.ts');

/** A page's chunk, asked for once; `page` is set once it has loaded, and drawn directly from then on. */
export type Chunk = { module: Promise<Module>; page?: ComponentType };
const chunks = new Map<Page['feature'], Chunk>();

/** Loads the page's feature (once; a chunk that failed to load is asked for again next time). */
export function loadPage(feature: Page['feature']): Promise<Module> {
  const known = chunks.get(feature);
  if (known) return known.module;
  const loader = modules[`../features/${feature}/index.ts`];
  if (!loader) return Promise.reject(new Error(`no web/src/features/${feature}/index.ts`));
  const chunk: Chunk = {
    module: loader().then((m) => {
      chunk.page = m.default;
      return m;
    }),
  };
  chunk.module.catch(() => chunks.delete(feature));
  chunks.set(feature, chunk);
  return chunk.module;
}

/** The page drawn at `pathname`: its own path or any below it. */
export const pageAt = (pathname: string): Page | undefined =>
  pages.find((p) => p.path !== '/' && (pathname === p.path || pathname.startsWith(`${p.path}/`))) ??
  (pathname === '/' ? pages[0] : undefined);

/** The loaded page of a feature, when its chunk is in. */
export const loadedPage = (feature: Page['feature']) => chunks.get(feature)?.page;

/**
 * Starts loading the chunk of the page the URL opens, while sign-in is still being checked: the
 * two no longer wait for each other.
 */
export function preloadPage(pathname: string): void {
  const page = pageAt(pathname);
  // Only a head start: a chunk that fails here is loaded again when the page is drawn, and that
  // load's failure is the one the error boundary shows.
  if (page) loadPage(page.feature).catch(() => {});
}
