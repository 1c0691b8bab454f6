import { useCallback, useEffect, useMemo, useState } from 'react';
import { Provider } from 'urql';
import { apiErrors } from '../api/errors';
import { VIEWER_QUERY, type Viewer } from '../api/operations';
import { Badge, ErrorBanner, Loading } from '../components/ui';
import { AuditEventDetailPage } from '../pages/audit-event-detail-page';
import { AuditLogPage } from '../pages/audit-log-page';
import { DeliveriesPage } from '../pages/deliveries-page';
import { DeliveryDetailPage } from '../pages/delivery-detail-page';
import { SignInPage } from '../pages/sign-in-page';
import { TokensPage } from '../pages/tokens-page';
import { WebhookPage } from '../pages/webhook-page';
import { createConsoleClient } from './client';
import { Connectivity, ConnectivityContext, useConsoleQuery } from './connectivity';
import { LiveAttemptsProvider, LiveAttemptStore, useLive } from './live-attempts';
import { Link, navigate, usePath } from './router';
import { clearToken, readToken, storeToken } from './session';

/** The console: the sign-in form until a token is accepted, then the signed-in shell. */
export function App() {
  const [token, setToken] = useState<string | null>(() => readToken());
  const [notice, setNotice] = useState<string | null>(null);
  const signOut = useCallback((message: string | null) => {
    clearToken();
    setToken(null);
    setNotice(message);
  }, []);
  if (!token) {
    return (
      <SignInPage
        notice={notice}
        onSignedIn={(accepted) => {
          storeToken(accepted);
          setNotice(null);
          setToken(accepted);
        }}
      />
    );
  }
  return <SignedIn key={token} token={token} onSignOut={signOut} />;
}

function SignedIn({ token, onSignOut }: { token: string; onSignOut: (message: string | null) => void }) {
  const store = useMemo(() => new LiveAttemptStore(), []);
  const connectivity = useMemo(() => new Connectivity(), []);
  const { client, ws } = useMemo(
    () =>
      createConsoleClient(token, {
        onUnauthenticated: (message) => onSignOut(`You were signed out: ${message}`),
        onSocketState: (state) => store.setSocket(state),
        onNetworkError: (message) => connectivity.failed(message),
        onAnswered: () => connectivity.answered(),
      }),
    [token, onSignOut, store, connectivity],
  );
  useEffect(() => () => void ws.dispose(), [ws]);
  useEffect(() => () => connectivity.dispose(), [connectivity]);
  return (
    <Provider value={client}>
      <ConnectivityContext.Provider value={connectivity}>
        <Shell store={store} onSignOut={() => onSignOut('Signed out. The token was removed from this browser tab.')} />
      </ConnectivityContext.Provider>
    </Provider>
  );
}

function Shell({ store, onSignOut }: { store: LiveAttemptStore; onSignOut: () => void }) {
  const [{ data, error, fetching }] = useConsoleQuery({ query: VIEWER_QUERY });
  const viewer = data?.viewer;
  if (!viewer) {
    return (
      <main className="centered">
        {fetching ? <Loading /> : <ErrorBanner errors={apiErrors(error)} />}
        {!fetching ? (
          <button type="button" className="button" onClick={onSignOut}>
            Sign out
          </button>
        ) : null}
      </main>
    );
  }
  const isAdmin = viewer.role === 'ADMIN';
  return (
    <LiveAttemptsProvider store={store} organizationId={viewer.organization.id} enabled={isAdmin}>
      <Header viewer={viewer} onSignOut={onSignOut} />
      <main className="content">{isAdmin ? <AdminRoutes viewer={viewer} /> : <IngestNotice viewer={viewer} />}</main>
    </LiveAttemptsProvider>
  );
}

const NAV = [
  { to: '/webhook', label: 'Webhook' },
  { to: '/deliveries', label: 'Deliveries' },
  { to: '/audit-log', label: 'Audit log' },
  { to: '/tokens', label: 'Tokens' },
];

function Header({ viewer, onSignOut }: { viewer: Viewer; onSignOut: () => void }) {
  const path = usePath();
  const isAdmin = viewer.role === 'ADMIN';
  return (
    <header className="topbar">
      <div className="topbar-inner">
        <Link to="/" className="brand">
          <img src="/favicon.svg" alt="" width={22} height={22} />
          audithook
        </Link>
        <nav className="nav" aria-label="Console">
          {isAdmin
            ? NAV.map((item) => (
                <Link key={item.to} to={item.to} className={path === item.to || path.startsWith(`${item.to}/`) || (path === '/' && item.to === '/webhook') ? 'active' : ''}>
                  {item.label}
                </Link>
              ))
            : null}
          <a href="/graphiql">GraphiQL</a>
        </nav>
        <div className="topbar-right">
          {isAdmin ? <LiveIndicator /> : null}
          <span className="org" data-testid="organization-name" title={viewer.organization.id}>
            {viewer.organization.name}
          </span>
          <Badge value={viewer.role} tone={isAdmin ? 'info' : 'muted'} />
          <button type="button" className="button button-small" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </div>
    </header>
  );
}

function LiveIndicator() {
  const { socket, error } = useLive();
  const label = error ? 'Live updates failed' : socket === 'live' ? 'Live' : socket === 'refused' ? 'Live updates refused' : socket === 'reconnecting' ? 'Reconnecting…' : 'Connecting…';
  return (
    <span className={`live live-${error ? 'refused' : socket}`} data-testid="live-indicator" data-state={socket} title={error ?? 'Delivery attempts arrive over graphql-ws'}>
      <span className="live-dot" aria-hidden="true" />
      {label}
    </span>
  );
}

function AdminRoutes({ viewer }: { viewer: Viewer }) {
  const path = usePath();
  const org = viewer.organization.id;
  useEffect(() => {
    if (path === '/' || path === '/index.html') navigate('/webhook', { replace: true });
  }, [path]);
  const segments = path.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
  const [section, id] = segments;
  switch (section) {
    case undefined:
    case 'index.html':
    case 'webhook':
      return <WebhookPage org={org} />;
    case 'deliveries':
      return id ? <DeliveryDetailPage org={org} id={id} /> : <DeliveriesPage org={org} />;
    case 'audit-log':
      return id ? <AuditEventDetailPage org={org} id={id} /> : <AuditLogPage org={org} />;
    case 'tokens':
      return <TokensPage org={org} viewer={viewer} />;
    default:
      return <NotFoundPage path={path} />;
  }
}

/** Any path the console has no page for (the server answers it with the console and status 404). */
function NotFoundPage({ path }: { path: string }) {
  return (
    <div className="card" data-testid="not-found">
      <h1>Page not found</h1>
      <p>
        The console has no page at <code>{path}</code>. Try the <Link to="/webhook">webhook</Link>, <Link to="/deliveries">deliveries</Link> or the{' '}
        <Link to="/audit-log">audit log</Link>. The GraphQL API is at <code>/graphql</code>.
      </p>
    </div>
  );
}

function IngestNotice({ viewer }: { viewer: Viewer }) {
  return (
    <div className="card notice" data-testid="ingest-notice">
      <h1>Signed in with an INGEST token</h1>
      <p>
        This token belongs to <strong>{viewer.organization.name}</strong> and has the <strong>INGEST</strong> role: it can record audit events
        (<code>recordAuditEvent</code>, <code>recordAuditEvents</code>) but it may not manage the webhook, read deliveries or the audit log, or manage
        API tokens.
      </p>
      <p>Sign out and paste an ADMIN token to manage the webhook.</p>
    </div>
  );
}
