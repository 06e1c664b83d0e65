import { lazy, Suspense } from 'react';
import { NavLink, Route, Routes, useLocation } from 'react-router';
import { useAuth } from './auth';
import { ErrorBoundary } from './components/ErrorBoundary';

// Every page is its own chunk: the first load carries the shell and the page it opens.
const Overview = lazy(() => import('./pages/Overview'));
const Agents = lazy(() => import('./pages/Agents'));
const Playground = lazy(() => import('./pages/Playground'));
const Teams = lazy(() => import('./pages/Teams'));
const Tasks = lazy(() => import('./pages/Tasks'));
const Runs = lazy(() => import('./pages/Runs'));
const Knowledge = lazy(() => import('./pages/Knowledge'));
const Usage = lazy(() => import('./pages/Usage'));
const Settings = lazy(() => import('./pages/Settings'));

/** The left navigation: one entry per page, each also reachable by its URL (src/http/console.ts). */
export const pages = [
  { path: '/', label: 'Overview', element: <Overview /> },
  { path: '/agents', label: 'Agents', element: <Agents /> },
  { path: '/playground', label: 'Playground', element: <Playground /> },
  { path: '/teams', label: 'Teams', element: <Teams /> },
  { path: '/tasks', label: 'Tasks', element: <Tasks /> },
  { path: '/runs', label: 'Runs', element: <Runs /> },
  { path: '/knowledge', label: 'Knowledge', element: <Knowledge /> },
  { path: '/usage', label: 'Usage', element: <Usage /> },
  { path: '/settings', label: 'Settings', element: <Settings /> },
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
