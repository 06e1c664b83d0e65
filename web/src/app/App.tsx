import { lazy, Suspense, useState } from 'react';
import { NavLink, Route, Routes, useLocation } from 'react-router';
import { ErrorBoundary } from '../components/ErrorBoundary';
import { NotFound } from '../components/NotFound';
import { useAuth } from '../lib/auth';
import { loadedPage, loadPage } from './load-page';
import { type Page, pages } from './pages';

/**
 * A page in its own chunk. Once the chunk is in, the page is drawn directly rather than through
 * lazy(), which suspends at least once and whose reveal React then holds back (up to 300 ms after
 * the "Loading…" it showed): with the chunk preloaded during sign-in, nothing waits.
 */
function pageElement(page: Page) {
  const Lazy = lazy(() => loadPage(page.feature));
  const Drawn = () => {
    // Chosen once per mount: switching from Lazy to the loaded page later would remount it.
    const [Loaded] = useState(() => loadedPage(page.feature));
    return Loaded ? <Loaded /> : <Lazy />;
  };
  return <Drawn />;
}
const routes = pages.map((p) => ({ ...p, element: pageElement(p) }));

/** The shell: the left navigation and the page of the URL, both from the page registry (pages.ts). */
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
              {routes.map((p) => (
                <Route key={p.path} path={p.path === '/' ? '/' : `${p.path}/*`} element={p.element} />
              ))}
              <Route path="*" element={<NotFound />} />
            </Routes>
          </Suspense>
        </ErrorBoundary>
      </main>
    </div>
  );
}
