import { useState, type FormEvent } from 'react';
import { useSession } from '../auth/session';
import { ErrorNote } from '../components/ErrorNote';

export function SignInPage() {
  const { signIn } = useSession();
  const [token, setToken] = useState(''); // kept in memory only, never in storage
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token.trim()) return;
    setBusy(true);
    setError(null);
    try {
      await signIn(token.trim());
      setToken('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card narrow" data-testid="signin">
      <h1>Sign in</h1>
      <p className="muted">This BlastDeck server requires an API token. Ask its administrator for one.</p>
      <form onSubmit={submit} className="stack">
        <label className="field">
          <span className="label">API token</span>
          <input
            type="password"
            autoComplete="off"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            data-testid="signin-token"
            required
          />
        </label>
        <ErrorNote error={error} testId="signin-error" />
        <div>
          <button type="submit" className="btn btn-primary" disabled={busy || !token.trim()} data-testid="signin-submit">
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </div>
      </form>
    </section>
  );
}
