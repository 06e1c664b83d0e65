import { type ComponentType, lazy, Suspense, useState } from 'react';
import { NavLink, Route, Routes, useLocation } from 'react-router';
import { useAuth } from './auth';
import { ErrorBoundary } from './components/ErrorBoundary';

// Every page is its own chunk: the first load carries the shell and the page it opens.
const loaders = {
  '/': () => import('./pages/Overview'),
  '/agents': () => import('./pages/Agents'),
  '/playground': () => import('./pages/Playground'),
  '/teams': () => import('./pages/Teams'),
  '/tasks': () => import('./pages/Tasks'),
  '/runs': () => import('./pages/Runs'),
  '/knowledge': () => import('./pages/Knowledge'),
  '/usage': () => import('./pages/Usage'),
  '/settings': () => import('./pages/Settings'),
};

type Section = keyof typeof loaders;
/** A page's chunk, asked for once; `page` is set once it has loaded, and drawn directly from then on. */
type Chunk = { module: Promise<{ default: ComponentType }>; page?: ComponentType };
const chunks = new Map<Section, Chunk>();
const load = (path: Section) => {
  const known = chunks.get(path);
  if (known) return known.module;
  const chunk: Chunk = {
    module: loaders[path]().then((m) => {
      chunk.page = m.default;
      return m;
    }),
  };
  // A chunk that failed to load is asked for again next time.
  chunk.module.catch(() => chunks.delete(path));
  chunks.set(path, chunk);
  return chunk.module;
};

/**
 * Starts loading the chunk of the page the URL opens, while sign-in is still being checked: the
 * two no longer wait for each other.
 */
export function preloadPage(pathname: string): void {
  const section = `/${pathname.split('/')[1] ?? ''}`;
  if (section in loaders) load(section as Section).catch(() => {});
}

/**
 * A page in its own chunk. Once the chunk is in, the page is drawn directly rather than through
 * lazy(), which suspends at least once and whose reveal React then holds back (up to 300 ms after
 * the "Loading…" it showed): with the chunk preloaded during sign-in, nothing waits.
 */
const page = (path: Section, label: string) => {
  const Lazy = lazy(() => load(path));
  const Page = () => {
    // Chosen once per mount: switching from Lazy to the loaded page later would remount it.
    const [Loaded] = useState(() => chunks.get(path)?.page);
    return Loaded ? <Loaded /> : <Lazy />;
  };
  return { path, label, element: <Page /> };
};

/** The left navigation: one entry per page, each also reachable by its URL (src/http/console.ts). */
export const pages = [
  page('/', 'Overview'),
  page('/agents', 'Agents'),
  page('/playground', 'Playground'),
  page('/teams', 'Teams'),
  page('/tasks', 'Tasks'),
  page('/runs', 'Runs'),
  page('/knowledge', 'Knowledge'),
  page('/usage', 'Usage'),
  page('/settings', 'Settings'),
];

export function App() {
  const { me, signOut } = useAuth();
  const location = useLocation();
  return (
    <div className="layout">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <nav aria-label="Main">
        <div className="brand">Agentry</div>
        <ul>
          {pages.map((p) => (
            <li key={p.path}>
              <NavLink to={p.path} end={p.path === '/'}>
                {p.label}
              </NavLink>
            </li>
          ))}
        </ul>
        <div className="who">
          <span title={me.subject}>
            {me.tenant_name} · {me.scopes.join(', ')}
          </span>
          <button type="button" className="link" onClick={signOut}>
            Sign out
          </button>
        </div>
      </nav>
      <main id="main" tabIndex={-1}>
        <ErrorBoundary resetKey={location.pathname}>
          <Suspense fallback={<p className="muted">Loading…</p>}>
            <Routes>
              {pages.map((p) => (
                <Route key={p.path} path={p.path === '/' ? '/' : `${p.path}/*`} element={p.element} />
              ))}
              <Route path="*" element={<h1>No such page</h1>} />
            </Routes>
          </Suspense>
        </ErrorBoundary>
      </main>
    </div>
  );
}
