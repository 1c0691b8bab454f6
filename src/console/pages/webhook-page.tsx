import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { useClient, useMutation } from 'urql';
import { apiErrors, formErrors, type ApiError } from '../api/errors';
import {
  DELIVERY_QUERY,
  REGISTER_WEBHOOK,
  REMOVE_WEBHOOK,
  ROTATE_SIGNING_SECRET,
  SIGNING_SECRET_QUERY,
  TEST_WEBHOOK,
  UPDATE_WEBHOOK,
  WEBHOOK_QUERY,
  type AuthorizationInput,
  type DeliverySummary,
  type Webhook,
} from '../api/operations';
import { useConsoleQuery } from '../app/connectivity';
import { useLive, useLiveAttemptsOf } from '../app/live-attempts';
import { Link } from '../app/router';
import { AttemptsTable, Countdown, mergeAttempts } from '../components/attempts-table';
import { useNow } from '../components/hooks';
import { Badge, Confirm, CopyButton, ErrorBanner, Field, Loading, PageHeader, Time } from '../components/ui';
import { WebhookDisabledBanner } from './webhook-disabled-banner';

/** The webhook page: register, or show, edit, test and remove the organization's one webhook; its signing secret. */
export function WebhookPage({ org }: { org: string }) {
  const [{ data, fetching, error }, refetch] = useConsoleQuery({ query: WEBHOOK_QUERY, variables: { org } });
  const [editing, setEditing] = useState(false);
  const { attempts } = useLive();
  const reload = () => refetch({ requestPolicy: 'network-only' });

  // Attempts move lastAttemptAt/lastSuccessAt/lastFailureAt: ask again when one arrives.
  const attemptCount = attempts.length;
  useEffect(() => {
    if (attemptCount > 0) refetch({ requestPolicy: 'network-only' });
  }, [attemptCount, refetch]);

  if (!data) {
    return fetching ? <Loading /> : <ErrorBanner errors={apiErrors(error)} />;
  }
  const webhook = data.webhook;
  if (!webhook) {
    return (
      <>
        <PageHeader title="Webhook" subtitle="Register the URL that receives this organization's audit events, signed with Standard Webhooks." />
        <div className="card">
          <h2>Register a webhook</h2>
          <WebhookForm org={org} webhook={null} onSaved={reload} />
        </div>
      </>
    );
  }
  return (
    <>
      <PageHeader title="Webhook" subtitle="Where this organization's audit events are delivered." />
      <WebhookDisabledBanner org={org} webhook={webhook} onReenabled={reload} />
      {editing ? (
        <div className="card">
          <h2>Edit webhook</h2>
          <WebhookForm
            org={org}
            webhook={webhook}
            onSaved={() => {
              setEditing(false);
              reload();
            }}
            onCancel={() => setEditing(false)}
          />
        </div>
      ) : (
        <WebhookSummary org={org} webhook={webhook} onEdit={() => setEditing(true)} onRemoved={reload} />
      )}
      <TestPanel org={org} />
      <SigningSecretCard org={org} />
    </>
  );
}

function WebhookSummary({ org, webhook, onEdit, onRemoved }: { org: string; webhook: Webhook; onEdit: () => void; onRemoved: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [removal, remove] = useMutation(REMOVE_WEBHOOK);
  const doRemove = async () => {
    const result = await remove({ org });
    if (!result.error) {
      setConfirming(false);
      onRemoved();
    }
  };
  return (
    <div className="card" data-testid="webhook-summary">
      <div className="card-header">
        <h2>Registration</h2>
        <div className="actions">
          <button type="button" className="button" onClick={onEdit}>
            Edit
          </button>
          <button type="button" className="button button-danger-outline" onClick={() => setConfirming(true)}>
            Remove
          </button>
        </div>
      </div>
      <dl className="details">
        <dt>URL</dt>
        <dd className="mono break" data-testid="webhook-url">
          {webhook.url}
        </dd>
        <dt>Status</dt>
        <dd>
          <Badge value={webhook.status} />
          {webhook.status === 'DISABLED' ? <span className="muted"> New events wait; re-enabling (or saving an edit) turns it back on.</span> : null}
        </dd>
        <dt>Authorization</dt>
        <dd data-testid="webhook-authorization">
          {webhook.authorization ? (
            <>
              <code>{webhook.authorization.scheme}</code>
              {webhook.authorization.username ? (
                <>
                  {' '}
                  as <code>{webhook.authorization.username}</code>
                </>
              ) : null}
              <span className="muted"> (secret part hidden)</span>
            </>
          ) : (
            <span className="muted">None</span>
          )}
        </dd>
        <dt>Last attempt</dt>
        <dd>
          <Time iso={webhook.lastAttemptAt} relative />
        </dd>
        <dt>Last success</dt>
        <dd>
          <Time iso={webhook.lastSuccessAt} relative />
        </dd>
        <dt>Last failure</dt>
        <dd>
          <Time iso={webhook.lastFailureAt} relative />
        </dd>
        {webhook.failingSince ? (
          <>
            <dt>Failing since</dt>
            <dd data-testid="webhook-failing-since">
              <Time iso={webhook.failingSince} relative />
              <span className="muted"> (every attempt since has failed)</span>
            </dd>
          </>
        ) : null}
        <dt>Registered</dt>
        <dd>
          <Time iso={webhook.createdAt} />
          <span className="muted"> · updated </span>
          <Time iso={webhook.updatedAt} />
        </dd>
        <dt>ID</dt>
        <dd className="mono">{webhook.id}</dd>
      </dl>
      {confirming ? (
        <Confirm
          message={
            <>
              Remove this webhook? Deliveries not sent yet are cancelled, and no events are delivered until a webhook is registered again.
            </>
          }
          confirmLabel="Remove webhook"
          busy={removal.fetching}
          onConfirm={() => void doRemove()}
          onCancel={() => setConfirming(false)}
        />
      ) : null}
      <ErrorBanner errors={apiErrors(removal.error)} />
    </div>
  );
}

type AuthMode = 'keep' | 'none' | 'basic' | 'header';

/** Where each API input path is shown in the form. */
const FORM_CONTROLS: Record<string, string> = {
  'input.url': 'url',
  'input.authorization.basic.username': 'username',
  'input.authorization.basic.password': 'password',
  'input.authorization.basic': 'password',
  'input.authorization.header': 'header',
  'input.authorization': 'auth',
  'input.removeAuthorization': 'auth',
};

function WebhookForm({ org, webhook, onSaved, onCancel }: { org: string; webhook: Webhook | null; onSaved: () => void; onCancel?: () => void }) {
  const [url, setUrl] = useState(webhook?.url ?? '');
  const [mode, setMode] = useState<AuthMode>(webhook ? 'keep' : 'none');
  const [username, setUsername] = useState(webhook?.authorization?.username ?? '');
  const [password, setPassword] = useState('');
  const [header, setHeader] = useState('');
  const [errors, setErrors] = useState<ApiError[]>([]);
  const [, register] = useMutation(REGISTER_WEBHOOK);
  const [, update] = useMutation(UPDATE_WEBHOOK);
  const [busy, setBusy] = useState(false);

  const { byControl, general } = formErrors(errors, FORM_CONTROLS);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const local: ApiError[] = [];
    if (url.trim() === '') local.push({ message: 'Enter the URL that receives the events.', code: null, field: 'input.url' });
    if (mode === 'basic' && username.trim() === '') local.push({ message: 'Enter the user name.', code: null, field: 'input.authorization.basic.username' });
    if (mode === 'header' && header.trim() === '') local.push({ message: 'Enter the whole header value, e.g. "Bearer abc".', code: null, field: 'input.authorization.header' });
    if (local.length > 0) {
      setErrors(local);
      return;
    }
    const authorization: AuthorizationInput | undefined =
      mode === 'basic' ? { basic: { username, password } } : mode === 'header' ? { header } : undefined;
    setBusy(true);
    const result = webhook
      ? await update({
          org,
          input: {
            url: url.trim(),
            ...(authorization ? { authorization } : {}),
            ...(mode === 'none' && webhook.authorization ? { removeAuthorization: true } : {}),
          },
        })
      : await register({ org, input: { url: url.trim(), ...(authorization ? { authorization } : {}) } });
    setBusy(false);
    if (result.error) {
      setErrors(apiErrors(result.error));
      return;
    }
    setErrors([]);
    setPassword('');
    setHeader('');
    onSaved();
  };

  const describedBy = (control: string) => (byControl[control] ? `webhook-${control}-error` : undefined);

  return (
    <form className="form" onSubmit={(e) => void submit(e)} noValidate data-testid="webhook-form">
      <Field id="webhook-url" label="URL" error={byControl.url} hint="HTTPS URL of your receiver. Private and loopback addresses are refused unless the server allows them.">
        <input
          id="webhook-url"
          name="url"
          type="text"
          inputMode="url"
          autoComplete="off"
          spellCheck={false}
          placeholder="https://example.com/hooks/audit"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
          aria-invalid={byControl.url ? true : undefined}
          aria-describedby={describedBy('url')}
        />
      </Field>
      <fieldset className={`field${byControl.auth ? ' field-invalid' : ''}`}>
        <legend>Authorization sent to the receiver</legend>
        <div className="radios" role="radiogroup">
          {webhook ? (
            <label>
              <input type="radio" name="auth-mode" value="keep" checked={mode === 'keep'} onChange={() => setMode('keep')} />
              Keep current{webhook.authorization ? ` (${webhook.authorization.scheme})` : ' (none)'}
            </label>
          ) : null}
          <label>
            <input type="radio" name="auth-mode" value="none" checked={mode === 'none'} onChange={() => setMode('none')} />
            None
          </label>
          <label>
            <input type="radio" name="auth-mode" value="basic" checked={mode === 'basic'} onChange={() => setMode('basic')} />
            Basic (user and password)
          </label>
          <label>
            <input type="radio" name="auth-mode" value="header" checked={mode === 'header'} onChange={() => setMode('header')} />
            Whole header value
          </label>
        </div>
        {byControl.auth ? (
          <div className="field-error" id="webhook-auth-error" role="alert">
            {byControl.auth}
          </div>
        ) : null}
      </fieldset>
      {mode === 'basic' ? (
        <div className="row">
          <Field id="webhook-username" label="User name" error={byControl.username}>
            <input id="webhook-username" name="username" type="text" autoComplete="off" value={username} onChange={(e) => setUsername(e.target.value)} aria-describedby={describedBy('username')} />
          </Field>
          <Field id="webhook-password" label="Password" error={byControl.password}>
            <input id="webhook-password" name="password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} aria-describedby={describedBy('password')} />
          </Field>
        </div>
      ) : null}
      {mode === 'header' ? (
        <Field id="webhook-header" label="Authorization header value" error={byControl.header} hint='Sent as it is, e.g. "Bearer abc" or "Basic dXNlcjpwYXNz". Never shown again.'>
          <input id="webhook-header" name="header" type="password" autoComplete="off" spellCheck={false} value={header} onChange={(e) => setHeader(e.target.value)} aria-describedby={describedBy('header')} />
        </Field>
      ) : null}
      <ErrorBanner errors={general} testId="webhook-form-error" />
      <div className="actions">
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? 'Saving…' : webhook ? 'Save changes' : 'Register webhook'}
        </button>
        {onCancel ? (
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
      </div>
    </form>
  );
}

function TestPanel({ org }: { org: string }) {
  const [testState, runTest] = useMutation(TEST_WEBHOOK);
  const [delivery, setDelivery] = useState<DeliverySummary | null>(null);
  const start = async () => {
    const result = await runTest({ org });
    if (result.data) setDelivery(result.data.testWebhook);
  };
  return (
    <div className="card" data-testid="test-panel">
      <div className="card-header">
        <div>
          <h2>Test registration</h2>
          <p className="muted">Sends a few sample activities to the webhook after a brief delay, as a TEST delivery with retries.</p>
        </div>
        <button type="button" className="button button-primary" onClick={() => void start()} disabled={testState.fetching}>
          {testState.fetching ? 'Sending…' : 'Test registration'}
        </button>
      </div>
      <ErrorBanner errors={apiErrors(testState.error)} />
      {delivery ? <DeliveryProgress key={delivery.id} org={org} initial={delivery} /> : null}
    </div>
  );
}

/** How long after a scheduled attempt the panel asks the server itself, in case the live socket missed it. */
const FALLBACK_REFRESH_MS = 3000;

/** One delivery followed live: countdown to its next attempt, then its attempts as they arrive. */
function DeliveryProgress({ org, initial }: { org: string; initial: DeliverySummary }) {
  const client = useClient();
  const live = useLiveAttemptsOf(initial.id);
  const [fetched, setFetched] = useState<DeliverySummary | null>(null);
  const now = useNow(100);
  const latestLive = live.at(-1)?.attempt.delivery;
  const current = latestLive && (!fetched || latestLive.attemptCount >= fetched.attemptCount) ? latestLive : (fetched ?? initial);
  const attempts = useMemo(() => mergeAttempts(initial.attempts, fetched?.attempts ?? [], ...live.map((l) => [l.attempt])), [initial, fetched, live]);
  const nextAttemptAt = current.nextAttemptAt;
  const requested = useRef<string | null>(null);

  useEffect(() => {
    if (!nextAttemptAt) return;
    const waitMs = Math.max(0, new Date(nextAttemptAt).getTime() - Date.now()) + FALLBACK_REFRESH_MS;
    const timer = window.setTimeout(() => {
      if (requested.current === nextAttemptAt) return;
      requested.current = nextAttemptAt;
      void client
        .query(DELIVERY_QUERY, { org, id: initial.id })
        .toPromise()
        .then((result) => result.data?.delivery && setFetched(result.data.delivery));
    }, waitMs);
    return () => window.clearTimeout(timer);
  }, [client, org, initial.id, nextAttemptAt]);

  return (
    <div className="progress" data-testid="test-delivery" data-delivery-id={initial.id} data-status={current.status}>
      <div className="progress-head">
        <span>
          Delivery{' '}
          <Link to={`/deliveries/${encodeURIComponent(initial.id)}`} className="mono">
            {initial.id}
          </Link>
        </span>
        <Badge value={current.status} />
        <span className="muted">
          {current.attemptCount} of {current.maxAttempts} attempts
        </span>
        {nextAttemptAt && (current.status === 'PENDING' || current.status === 'RETRYING') ? <Countdown nextAttemptAt={nextAttemptAt} nowMs={now} /> : null}
      </div>
      <AttemptsTable attempts={attempts} compact />
    </div>
  );
}

function SigningSecretCard({ org }: { org: string }) {
  const client = useClient();
  const [secret, setSecret] = useState<string | null>(null);
  const [errors, setErrors] = useState<ApiError[]>([]);
  const [confirming, setConfirming] = useState(false);
  const [rotated, setRotated] = useState(false);
  const [rotation, rotate] = useMutation(ROTATE_SIGNING_SECRET);

  const reveal = async () => {
    const result = await client.query(SIGNING_SECRET_QUERY, { org }, { requestPolicy: 'network-only' }).toPromise();
    setErrors(apiErrors(result.error));
    if (result.data) setSecret(result.data.webhookSigningSecret);
  };
  const doRotate = async () => {
    const result = await rotate({ org });
    setErrors(apiErrors(result.error));
    if (result.data) {
      setSecret(result.data.rotateWebhookSigningSecret);
      setRotated(true);
      setConfirming(false);
    }
  };

  return (
    <div className="card" data-testid="signing-secret">
      <div className="card-header">
        <div>
          <h2>Signing secret</h2>
          <p className="muted">
            Receivers verify the <code>webhook-signature</code> header with it (Standard Webhooks).
          </p>
        </div>
      </div>
      <div className="secret-row">
        <code className="secret" data-testid="secret-value">
          {secret ?? 'whsec_••••••••••••••••••••••••••••••••'}
        </code>
        {secret ? (
          <>
            <CopyButton text={secret} />
            <button type="button" className="button button-small" onClick={() => setSecret(null)}>
              Hide
            </button>
          </>
        ) : (
          <button type="button" className="button button-small" onClick={() => void reveal()}>
            Reveal
          </button>
        )}
        <button type="button" className="button button-small button-danger-outline" onClick={() => setConfirming(true)}>
          Rotate
        </button>
      </div>
      {rotated ? <div className="alert alert-info">New secret in use. The previous one keeps signing alongside it for 24 hours.</div> : null}
      {confirming ? (
        <Confirm
          message="Rotate the signing secret? The new one signs at once; the previous one keeps signing alongside it for 24 hours so receivers can switch."
          confirmLabel="Rotate secret"
          busy={rotation.fetching}
          onConfirm={() => void doRotate()}
          onCancel={() => setConfirming(false)}
        />
      ) : null}
      <ErrorBanner errors={errors} />
    </div>
  );
}
