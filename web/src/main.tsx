import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { App } from './app/App';
import { preloadPage } from './app/load-page';
import { RequireSignIn } from './app/SignIn';
import { prefetchTrace } from './features/runs/queries';
import './app/styles.css';

const queryClient = new QueryClient({
  defaultOptions: { queries: { staleTime: 5_000, refetchOnWindowFocus: true, retry: 1 } },
});

preloadPage(window.location.pathname);
prefetchTrace(queryClient, window.location.pathname);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <RequireSignIn>
          <App />
        </RequireSignIn>
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
