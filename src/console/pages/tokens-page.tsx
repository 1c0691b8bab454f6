import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { apiErrors, formErrors } from '../api/errors';
import { API_TOKENS_QUERY, CREATE_API_TOKEN, REVOKE_API_TOKEN, type ApiToken, type Role, type Viewer } from '../api/operations';
import { useConsoleQuery } from '../app/connectivity';
import { Badge, Confirm, CopyButton, ErrorBanner, Field, LoadingRow, PageHeader, TableScroll, Time } from '../components/ui';

const CREATE_CONTROLS: Record<string, string> = { 'input.role': 'role', 'input.label': 'label' };

/** API tokens: create (the secret is shown once), list, revoke. */
export function TokensPage({ org, viewer }: { org: string; viewer: Viewer }) {
  const [{ data, fetching, error }, refetch] = useConsoleQuery({ query: API_TOKENS_QUERY, variables: { org } });
  const reload = () => refetch({ requestPolicy: 'network-only' });
  return (
    <>
      <PageHeader title="API tokens" subtitle="ADMIN tokens manage the webhook and tokens; INGEST tokens only record audit events." />
      <CreateTokenCard org={org} onCreated={reload} />
      <div className="card">
        <h2>Tokens</h2>
        <ErrorBanner errors={apiErrors(error)} />
        <TableScroll label="Tokens">
          <table className="table" data-testid="tokens-table" aria-busy={!data && fetching}>
            <thead>
              <tr>
                <th>Label</th>
                <th>Role</th>
                <th>ID</th>
                <th>Created</th>
                <th>Last used</th>
                <th>
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {(data?.apiTokens ?? []).map((token) => (
                <TokenRow key={token.id} org={org} token={token} isCurrent={token.id === viewer.tokenId} onRevoked={reload} />
              ))}
              {!data && fetching ? <LoadingRow columns={6} /> : null}
              {data && data.apiTokens.length === 0 ? (
                <tr>
                  <td colSpan={6} className="muted empty">
                    No tokens.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </TableScroll>
      </div>
    </>
  );
}

function CreateTokenCard({ org, onCreated }: { org: string; onCreated: () => void }) {
  const [role, setRole] = useState<Role>('INGEST');
  const [label, setLabel] = useState('');
  const [created, setCreated] = useState<{ token: string; apiToken: ApiToken } | null>(null);
  const [creation, create] = useMutation(CREATE_API_TOKEN);
  const { byControl, general } = formErrors(apiErrors(creation.error), CREATE_CONTROLS);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await create({ org, input: { role, ...(label.trim() ? { label: label.trim() } : {}) } });
    if (result.data) {
      setCreated(result.data.createApiToken);
      setLabel('');
      onCreated();
    }
  };

  return (
    <div className="card">
      <h2>Create a token</h2>
      <form className="form form-inline" onSubmit={(e) => void submit(e)} noValidate data-testid="create-token-form">
        <Field id="token-role" label="Role" error={byControl.role}>
          <select id="token-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="INGEST">INGEST: records audit events</option>
            <option value="ADMIN">ADMIN: manages everything</option>
          </select>
        </Field>
        <Field id="token-label" label="Label (optional)" error={byControl.label}>
          <input id="token-label" type="text" placeholder="billing-service" value={label} onChange={(e) => setLabel(e.target.value)} />
        </Field>
        <div className="actions">
          <button type="submit" className="button button-primary" disabled={creation.fetching}>
            {creation.fetching ? 'Creating…' : 'Create token'}
          </button>
        </div>
      </form>
      <ErrorBanner errors={general} />
      {created ? (
        <div className="alert alert-success new-token" data-testid="new-token">
          <div>
            <strong>
              {created.apiToken.role} token {created.apiToken.label ? `“${created.apiToken.label}” ` : ''}created.
            </strong>{' '}
            Copy it now: it is shown only once and only its hash is stored.
          </div>
          <div className="secret-row">
            <code className="secret" data-testid="new-token-value">
              {created.token}
            </code>
            <CopyButton text={created.token} />
            <button type="button" className="button button-small" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </div>
      ) : null}
    </div>
  );
}

function TokenRow({ org, token, isCurrent, onRevoked }: { org: string; token: ApiToken; isCurrent: boolean; onRevoked: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [revocation, revoke] = useMutation(REVOKE_API_TOKEN);
  const doRevoke = async () => {
    const result = await revoke({ org, id: token.id });
    if (!result.error) {
      setConfirming(false);
      onRevoked();
    }
  };
  return (
    <>
      <tr data-token-id={token.id}>
        <td>
          {token.label ?? <span className="muted">(no label)</span>}
          {isCurrent ? <span className="tag">this session</span> : null}
        </td>
        <td>
          <Badge value={token.role} tone={token.role === 'ADMIN' ? 'info' : 'muted'} />
        </td>
        <td className="mono">{token.id}</td>
        <td>
          <Time iso={token.createdAt} />
        </td>
        <td>
          <Time iso={token.lastUsedAt} relative />
        </td>
        <td className="row-actions">
          <button type="button" className="button button-small button-danger-outline" onClick={() => setConfirming(true)}>
            Revoke
          </button>
        </td>
      </tr>
      {confirming || revocation.error ? (
        <tr className="confirm-row">
          <td colSpan={6}>
            {confirming ? (
              <Confirm
                message={
                  isCurrent
                    ? 'Revoke the token this console is signed in with? You will be signed out at once.'
                    : `Revoke ${token.label ? `“${token.label}”` : token.id}? Requests with it are refused from now on.`
                }
                confirmLabel="Revoke token"
                busy={revocation.fetching}
                onConfirm={() => void doRevoke()}
                onCancel={() => setConfirming(false)}
              />
            ) : null}
            <ErrorBanner errors={apiErrors(revocation.error)} />
          </td>
        </tr>
      ) : null}
    </>
  );
}
