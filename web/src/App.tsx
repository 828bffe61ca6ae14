import { lazy, Suspense } from 'react';
import { Navigate, Route, Routes } from 'react-router-dom';
import { SessionProvider, useSession } from './auth/session';
import { ErrorBoundary } from './components/ErrorBoundary';
import { Header } from './components/Header';
import { AdminPage } from './pages/AdminPage';
import { ClustersPage } from './pages/ClustersPage';
import { DatabasesPage } from './pages/DatabasesPage';
import { JobPage } from './pages/JobPage';
import { JobsPage } from './pages/JobsPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { SearchPage } from './pages/SearchPage';
import { ShareInvalidPage, SharedJobPage } from './pages/SharedJobPage';
import { SignInPage } from './pages/SignInPage';

// The Usage page brings Chart.js: loaded when first opened, not with every page.
const UsagePage = lazy(() => import('./pages/UsagePage').then((m) => ({ default: m.UsagePage })));

export function App() {
  return (
    <SessionProvider>
      <Header />
      <main className="page">
        <ErrorBoundary>
          <Gate />
        </ErrorBoundary>
      </main>
    </SessionProvider>
  );
}

/** A share link's page opens without signing in; every other route needs the session. */
function Gate() {
  return (
    <Routes>
      <Route path="/shared/:token" element={<SharedJobPage />} />
      {/* A link's token followed by anything else (another job's address, say) opens nothing. */}
      <Route path="/shared/*" element={<ShareInvalidPage />} />
      <Route path="*" element={<SignedIn />} />
    </Routes>
  );
}

/** The routes, or the sign-in page while auth wants a user. */
function SignedIn() {
  const { loading, needsSignIn } = useSession();
  if (loading) return <p className="muted" data-testid="app-loading">Loading…</p>;
  if (needsSignIn) return <SignInPage />;
  return (
    <Routes>
      <Route path="/" element={<Navigate to="/search" replace />} />
      <Route path="/search" element={<SearchPage />} />
      <Route path="/jobs" element={<JobsPage />} />
      <Route path="/jobs/:id" element={<JobPage />} />
      <Route path="/databases" element={<DatabasesPage />} />
      <Route path="/admin" element={<AdminPage />} />
      <Route path="/clusters" element={<ClustersPage />} />
      <Route
        path="/usage"
        element={
          <Suspense fallback={<p className="muted">Loading…</p>}>
            <UsagePage />
          </Suspense>
        }
      />
      <Route path="*" element={<NotFoundPage />} />
    </Routes>
  );
}
