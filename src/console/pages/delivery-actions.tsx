import { useState } from 'react';
import { useMutation } from 'urql';
import { apiErrors } from '../api/errors';
import { RECOVER_DELIVERIES, RETRY_DELIVERY } from '../api/operations';

/** "Retry now" for a RETRYING delivery: its planned attempt runs at once (same attempt number, same budget). */
export function RetryNowButton({ org, id, primary = false, onRetried }: { org: string; id: string; primary?: boolean; onRetried: () => void }) {
  const [retry, retryNow] = useMutation(RETRY_DELIVERY);
  const errors = apiErrors(retry.error);
  return (
    <>
      <button
        type="button"
        className={primary ? 'button button-primary' : 'button button-small'}
        data-testid="retry-now"
        onClick={() => void retryNow({ org, id }).then((result) => !result.error && onRetried())}
        disabled={retry.fetching}
        title="Run the planned next attempt now; it counts as that attempt"
      >
        {retry.fetching ? 'Retrying…' : 'Retry now'}
      </button>
      {errors.length ? (
        <span className="field-error" role="alert">
          {errors[0]!.message}
        </span>
      ) : null}
    </>
  );
}

/** The local date-time a datetime-local input shows, one day before now (the usual "since the outage began"). */
function yesterdayLocal(): string {
  const at = new Date(Date.now() - 24 * 3_600_000);
  at.setSeconds(0, 0);
  return new Date(at.getTime() - at.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** "Recover failed deliveries since …": after an outage, every FAILED delivery created since then goes out again. */
export function RecoverFailedForm({ org, onRecovered }: { org: string; onRecovered: () => void }) {
  const [since, setSince] = useState(yesterdayLocal);
  const [recovered, setRecovered] = useState<number | null>(null);
  const [recovery, recover] = useMutation(RECOVER_DELIVERIES);
  const errors = apiErrors(recovery.error);
  const submit = async () => {
    setRecovered(null);
    const at = new Date(since); // a datetime-local value is the browser's local time
    const result = await recover({ org, since: Number.isNaN(at.getTime()) ? since : at.toISOString() });
    if (result.data) {
      setRecovered(result.data.recoverDeliveries);
      onRecovered();
    }
  };
  return (
    <form
      className="filters recover-form"
      aria-label="Recover failed deliveries"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <label>
        Recover failed deliveries created since (your local time)
        <input type="datetime-local" value={since} onChange={(event) => setSince(event.target.value)} required data-testid="recover-since" />
      </label>
      <button type="submit" className="button button-small" disabled={recovery.fetching} data-testid="recover-submit">
        {recovery.fetching ? 'Recovering…' : 'Recover'}
      </button>
      {recovered !== null ? (
        <span role="status" data-testid="recover-result">
          {recovered === 1 ? '1 failed delivery' : `${recovered} failed deliveries`} queued again
        </span>
      ) : null}
      {errors.length ? (
        <span className="field-error" role="alert">
          {errors[0]!.message}
        </span>
      ) : null}
    </form>
  );
}
