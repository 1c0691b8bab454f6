import { useMutation } from 'urql';
import { apiErrors } from '../api/errors';
import { UPDATE_WEBHOOK, type Webhook } from '../api/operations';
import { ErrorBanner, Time } from '../components/ui';

/** The disabled reason in words: HTTP_410 and FAILING_SINCE_<time> are the two the server writes. */
function DisabledReason({ reason }: { reason: string | null }) {
  if (reason === 'HTTP_410') return <>The receiver answered <code>410 Gone</code>, so delivery stopped at once.</>;
  const since = reason?.startsWith('FAILING_SINCE_') ? reason.slice('FAILING_SINCE_'.length) : null;
  if (since) {
    return (
      <>
        Every delivery attempt has failed since <Time iso={since} relative />.
      </>
    );
  }
  return <>{reason ?? 'No reason was recorded.'}</>;
}

/**
 * Shown on the webhook page while the webhook is DISABLED: why and since when, what happens to new events, and a
 * button that re-enables it (updateWebhook with no change), after which held deliveries and waiting events go out.
 */
export function WebhookDisabledBanner({ org, webhook, onReenabled }: { org: string; webhook: Webhook; onReenabled: () => void }) {
  const [state, update] = useMutation(UPDATE_WEBHOOK);
  if (webhook.status !== 'DISABLED') return null;
  const reenable = async () => {
    const result = await update({ org, input: {} });
    if (!result.error) onReenabled();
  };
  return (
    <section className="alert alert-warn disabled-banner" aria-labelledby="webhook-disabled-title" data-testid="webhook-disabled-banner" data-reason={webhook.disabledReason ?? ''}>
      <div className="disabled-banner-text">
        <h2 id="webhook-disabled-title">Webhook disabled</h2>
        <p data-testid="webhook-disabled-reason">
          <DisabledReason reason={webhook.disabledReason} /> Turned off <Time iso={webhook.disabledAt} relative />
          {webhook.disabledReason ? (
            <>
              ; reason <code>{webhook.disabledReason}</code>
            </>
          ) : null}
          .
        </p>
        <p>
          New audit events wait and are delivered once it is re-enabled; events that wait longer than the server&apos;s disabled buffer (7 days unless configured
          otherwise) are dropped. Fix the receiver, then re-enable it.
        </p>
      </div>
      <div className="actions">
        <button type="button" className="button button-primary" onClick={() => void reenable()} disabled={state.fetching}>
          {state.fetching ? 'Re-enabling…' : 'Re-enable webhook'}
        </button>
      </div>
      <ErrorBanner errors={apiErrors(state.error)} testId="webhook-reenable-error" />
    </section>
  );
}
