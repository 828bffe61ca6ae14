import { NavLink } from 'react-router-dom';
import { useSession } from '../auth/session';

export function Header() {
  const { session, signOut } = useSession();
  const user = session?.auth_enabled ? session.user : null;
  return (
    <header className="site-header" data-testid="site-header">
      <div className="site-header-inner">
        <NavLink to="/search" className="brand" data-testid="brand">
          <img src="/favicon.svg" alt="" width={22} height={22} />
          BlastDeck
        </NavLink>
        <nav className="nav" aria-label="Main">
          <NavLink to="/search" data-testid="nav-search">
            New search
          </NavLink>
          <NavLink to="/jobs" end={false} data-testid="nav-jobs">
            Jobs
          </NavLink>
          <NavLink to="/databases" data-testid="nav-databases">
            Databases
          </NavLink>
          <NavLink to="/clusters" data-testid="nav-clusters">
            Clusters
          </NavLink>
          <NavLink to="/usage" data-testid="nav-usage">
            Usage
          </NavLink>
          <NavLink to="/admin" data-testid="nav-admin">
            {!user || user.admin ? 'Admin' : 'Tokens'}
          </NavLink>
          <a href="/docs" data-testid="nav-docs">
            API docs
          </a>
        </nav>
        {user && (
          <div className="user">
            <span data-testid="user-name">
              {user.name}
              {user.admin ? ' (admin)' : ''}
            </span>
            <button type="button" className="btn btn-small" data-testid="signout" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        )}
      </div>
    </header>
  );
}
