import { useState, type FormEvent } from 'react';
import { checkToken } from '../app/client';

/** Paste an API token; it is checked with `viewer` before it is kept in sessionStorage. */
export function SignInPage({ notice, onSignedIn }: { notice: string | null; onSignedIn: (token: string) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const trimmed = token.trim();
    if (!trimmed) {
      setError('Paste an API token first.');
      return;
    }
    setBusy(true);
    setError(null);
    const result = await checkToken(trimmed);
    setBusy(false);
    if (result.ok) onSignedIn(trimmed);
    else setError(result.message);
  };

  return (
    <main className="signin">
      <form className="card signin-card" onSubmit={(e) => void submit(e)} noValidate>
        <div className="signin-brand">
          <img src="/favicon.svg" alt="" width={36} height={36} />
          <div>
            <h1>audithook console</h1>
            <p className="muted">Your organization's audit-log webhook, deliveries and tokens.</p>
          </div>
        </div>
        {notice ? (
          <div className="alert alert-info" data-testid="signin-notice">
            {notice}
          </div>
        ) : null}
        <div className={`field${error ? ' field-invalid' : ''}`}>
          <label htmlFor="token">API token</label>
          <input
            id="token"
            name="token"
            type="password"
            autoComplete="off"
            spellCheck={false}
            placeholder="ah_…"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            aria-describedby={error ? 'token-error' : 'token-hint'}
            autoFocus
          />
          {error ? (
            <div className="field-error" id="token-error" role="alert">
              {error}
            </div>
          ) : (
            <div className="hint" id="token-hint">
              An ADMIN token from <code>npx audithook org create --name …</code> manages everything. It is kept in this tab only (sessionStorage)
              and sent as <code>Authorization: Bearer</code>.
            </div>
          )}
        </div>
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
