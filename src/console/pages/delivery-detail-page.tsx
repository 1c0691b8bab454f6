import { useEffect, useMemo, useState } from 'react';
import { useMutation } from 'urql';
import { apiErrors } from '../api/errors';
import { RetryNowButton } from './delivery-actions';
import { DELIVERY_QUERY, REDELIVER, type DeliverySummary } from '../api/operations';
import { useLiveAttemptsOf } from '../app/live-attempts';
import { useConsoleQuery, useDataRequestedAtMs } from '../app/connectivity';
import { Link } from '../app/router';
import { AttemptsTable, Countdown, mergeAttempts } from '../components/attempts-table';
import { RequestView } from '../components/request-view';
import { useNow } from '../components/hooks';
import { Badge, ErrorBanner, Loading, PageHeader, TableScroll, Time } from '../components/ui';
import { isFinished } from './deliveries-page';

/** One delivery: its state, every attempt (live), the events it carried, and redeliver once it has finished. */
export function DeliveryDetailPage({ org, id }: { org: string; id: string }) {
  const [{ data, fetching, error }, refetch] = useConsoleQuery({ query: DELIVERY_QUERY, variables: { org, id } });
  const fetchedAtMs = useDataRequestedAtMs(data, fetching);
  const live = useLiveAttemptsOf(id);
  const [redelivered, setRedelivered] = useState<{ delivery: DeliverySummary; atMs: number } | null>(null);
  const [redelivery, redeliver] = useMutation(REDELIVER);
  const now = useNow(100);

  // Each live attempt is merged at once; the full delivery (events, all attempts) is asked again shortly after.
  const liveCount = live.length;
  useEffect(() => {
    if (liveCount === 0) return;
    const timer = window.setTimeout(() => refetch({ requestPolicy: 'network-only' }), 250);
    return () => window.clearTimeout(timer);
  }, [liveCount, refetch]);

  const delivery = data?.delivery;
  const candidates: { delivery: DeliverySummary; atMs: number }[] = [];
  if (delivery) candidates.push({ delivery, atMs: fetchedAtMs });
  if (redelivered) candidates.push(redelivered);
  const lastLive = live.at(-1);
  if (lastLive) candidates.push({ delivery: lastLive.attempt.delivery, atMs: lastLive.receivedAtMs });
  const current = candidates.sort((a, b) => b.atMs - a.atMs)[0]?.delivery;
  const attempts = useMemo(
    () => mergeAttempts(delivery?.attempts ?? [], ...live.map((l) => [l.attempt])),
    [delivery, live],
  );

  if (!delivery || !current) {
    if (fetching) return <Loading />;
    return (
      <>
        <ErrorBanner errors={apiErrors(error)} />
        {!error ? (
          <div className="card">
            <h1>Delivery not found</h1>
            <p>
              No delivery <code>{id}</code> in this organization. <Link to="/deliveries">Back to deliveries</Link>
            </p>
          </div>
        ) : null}
      </>
    );
  }

  const doRedeliver = async () => {
    const result = await redeliver({ org, id });
    if (result.data) {
      setRedelivered({ delivery: result.data.redeliver, atMs: Date.now() });
      refetch({ requestPolicy: 'network-only' });
    }
  };
  const waiting = current.status === 'PENDING' || current.status === 'RETRYING';
  // A TEST delivery's events are samples made up for it (never recorded): no audit-log page exists for them.
  const sample = delivery.kind === 'TEST';

  return (
    <>
      <p className="crumbs">
        <Link to="/deliveries">← Deliveries</Link>
      </p>
      <PageHeader
        title="Delivery"
        subtitle={<span className="mono">{delivery.id}</span>}
        actions={
          isFinished(current) ? (
            <button type="button" className="button button-primary" onClick={() => void doRedeliver()} disabled={redelivery.fetching}>
              {redelivery.fetching ? 'Redelivering…' : 'Redeliver'}
            </button>
          ) : current.status === 'RETRYING' ? (
            <RetryNowButton org={org} id={delivery.id} primary onRetried={() => refetch({ requestPolicy: 'network-only' })} />
          ) : null
        }
      />
      <ErrorBanner errors={apiErrors(redelivery.error)} testId="redeliver-error" />
      <div className="card" data-testid="delivery-detail" data-status={current.status}>
        <dl className="details details-grid">
          <dt>Status</dt>
          <dd>
            <Badge value={current.status} /> {waiting && current.nextAttemptAt ? <Countdown nextAttemptAt={current.nextAttemptAt} nowMs={now} /> : null}
          </dd>
          <dt>Kind</dt>
          <dd>
            <Badge value={current.kind} tone="info" />
          </dd>
          <dt>Attempts</dt>
          <dd data-testid="detail-attempt-count">
            {current.attemptCount} of {current.maxAttempts}
          </dd>
          <dt>Events</dt>
          <dd>{current.eventCount}</dd>
          <dt>Created</dt>
          <dd>
            <Time iso={current.createdAt} relative />
          </dd>
          <dt>Completed</dt>
          <dd>
            <Time iso={current.completedAt} relative />
          </dd>
          <dt>Webhook</dt>
          <dd className="mono">{delivery.webhookId}</dd>
        </dl>
      </div>
      <div className="card">
        <h2>Attempts</h2>
        <AttemptsTable attempts={attempts} />
      </div>
      <RequestView payload={delivery.payload} attempts={delivery.sent} />
      <div className="card">
        <h2>{sample ? 'Sample activities carried' : 'Events carried'}</h2>
        {sample ? (
          <p className="muted" data-testid="sample-note">
            A test delivery carries made-up sample activities. They are not stored in the audit log, so they have no page of their own.
          </p>
        ) : null}
        {delivery.events.length === 0 ? (
          <p className="muted empty">{sample ? 'No sample activities.' : 'No events.'}</p>
        ) : (
          <TableScroll label={sample ? 'Sample activities' : 'Events carried'}>
            <table className={`table${sample ? '' : ' table-hover'}`} data-testid="delivery-events" data-sample={sample}>
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Action</th>
                  <th>Actor</th>
                  <th>Message</th>
                </tr>
              </thead>
              <tbody>
                {delivery.events.map((event) => (
                  <tr key={event.id}>
                    <td className="nowrap">
                      {sample ? (
                        <Time iso={event.time} />
                      ) : (
                        <Link to={`/audit-log/${encodeURIComponent(event.id)}`} title={event.id}>
                          <Time iso={event.time} />
                        </Link>
                      )}
                    </td>
                    <td className="mono">
                      {event.action}
                      {sample ? <span className="tag">sample, not stored</span> : null}
                    </td>
                    <td>{event.actor.name ?? event.actor.email ?? event.actor.id}</td>
                    <td className="message-cell">{event.message ?? <span className="muted">—</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </div>
    </>
  );
}
