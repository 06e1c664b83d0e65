import { lazy, Suspense } from 'react';
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

/**
 * Starts loading the chunk of the page the URL opens, while sign-in is still being checked: the
 * two no longer wait for each other (lazy() then finds the module already loaded).
 */
export function preloadPage(pathname: string): void {
  const section = `/${pathname.split('/')[1] ?? ''}` as keyof typeof loaders;
  loaders[section]?.().catch(() => {});
}

const page = (path: keyof typeof loaders, label: string) => {
  const Page = lazy(loaders[path]);
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
