// Who is signed in. With auth off (or a server without /api/session) everyone just uses the app.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiError, isNotFound, setUnauthorizedHandler } from '../api/client';
import { api } from '../api/endpoints';
import type { SessionInfo } from '../api/types';

const NO_AUTH: SessionInfo = { auth_enabled: false, user: null };

interface SessionState {
  session: SessionInfo | undefined;
  loading: boolean;
  /** Show the sign-in page instead of the app. */
  needsSignIn: boolean;
  signIn: (token: string) => Promise<void>;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<SessionState | null>(null);

async function loadSession(): Promise<SessionInfo> {
  try {
    return await api.session();
  } catch (error) {
    if (isNotFound(error)) return NO_AUTH; // older server: no session route, no auth
    throw error;
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [rejected, setRejected] = useState(false); // some call answered 401
  const query = useQuery({ queryKey: ['session'], queryFn: loadSession, staleTime: Infinity });

  useEffect(() => {
    setUnauthorizedHandler(() => setRejected(true));
    return () => setUnauthorizedHandler(null);
  }, []);

  const signIn = useCallback(
    async (token: string) => {
      const info = await api.signIn(token);
      const session = info && typeof info.auth_enabled === 'boolean' ? info : await api.session();
      setRejected(false);
      queryClient.setQueryData(['session'], session);
      // Everything fetched while signed out was refused: fetch it again.
      await queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] !== 'session' });
    },
    [queryClient],
  );

  const signOut = useCallback(async () => {
    try {
      await api.signOut();
    } finally {
      queryClient.removeQueries({ predicate: (q) => q.queryKey[0] !== 'session' });
      queryClient.setQueryData(['session'], { auth_enabled: true, user: null } satisfies SessionInfo);
    }
  }, [queryClient]);

  const session = query.data;
  const needsSignIn = rejected || (session?.auth_enabled === true && session.user == null) || (query.error instanceof ApiError && query.error.status === 401);

  const value = useMemo<SessionState>(
    () => ({ session, loading: query.isPending, needsSignIn, signIn, signOut }),
    [session, query.isPending, needsSignIn, signIn, signOut],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error('useSession outside SessionProvider');
  return state;
}
