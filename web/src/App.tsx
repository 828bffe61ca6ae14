import { Navigate, Route, Routes } from 'react-router-dom';
import { SessionProvider, useSession } from './auth/session';
import { ErrorBoundary } from './components/ErrorBoundary';
import { Header } from './components/Header';
import { ClustersPage } from './pages/ClustersPage';
import { DatabasesPage } from './pages/DatabasesPage';
import { JobPage } from './pages/JobPage';
import { JobsPage } from './pages/JobsPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { SearchPage } from './pages/SearchPage';
import { SignInPage } from './pages/SignInPage';

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

/** The routes, or the sign-in page while auth wants a user. */
function Gate() {
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
      <Route path="/clusters" element={<ClustersPage />} />
      <Route path="*" element={<NotFoundPage />} />
    </Routes>
  );
}
