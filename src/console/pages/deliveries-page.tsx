import { useMemo } from 'react';
import { useMutation } from 'urql';
import { apiErrors } from '../api/errors';
import { DELIVERIES_QUERY, REDELIVER, type DeliveryFilter, type DeliveryKind, type DeliveryStatus, type DeliverySummary } from '../api/operations';
import { useLive } from '../app/live-attempts';
import { useConsoleQuery, useDataRequestedAtMs } from '../app/connectivity';
import { RecoverFailedForm, RetryNowButton } from './delivery-actions';
import { Link, navigateQuery, useSearchParams } from '../app/router';
import { AttemptsChart } from '../components/attempts-chart';
import { formatDurationMs, formatRelative } from '../components/format';
import { useNow } from '../components/hooks';
import { Badge, ErrorBanner, LoadingRow, PageHeader, Pager, RefreshButton, TableScroll, Time } from '../components/ui';
import { useUrlCursorPages, withFilter } from '../components/url-pages';

/** Rows per page of the deliveries table. */
const PAGE_SIZE = 20;

const STATUSES: DeliveryStatus[] = ['PENDING', 'RETRYING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];
const KINDS: DeliveryKind[] = ['EVENTS', 'TEST'];

/** Whether a delivery has finished (so redeliver applies). */
export function isFinished(delivery: Pick<DeliverySummary, 'status'>): boolean {
  return delivery.status === 'SUCCEEDED' || delivery.status === 'FAILED' || delivery.status === 'CANCELLED';
}

function lastAttempt(delivery: DeliverySummary) {
  return delivery.attempts.reduce<DeliverySummary['attempts'][number] | undefined>((last, a) => (!last || a.startedAt >= last.startedAt ? a : last), undefined);
}

/** The deliveries page: last hour's chart, filters, and a table kept current by the deliveryAttempts subscription. */
export function DeliveriesPage({ org }: { org: string }) {
  // Status, kind and page live in the URL's query (?status=FAILED&kind=TEST), so a view can be shared.
  const params = useSearchParams();
  const status = STATUSES.find((s) => s === params.get('status')) ?? '';
  const kind = KINDS.find((k) => k === params.get('kind')) ?? '';
  const pages = useUrlCursorPages();
  const filter = useMemo<DeliveryFilter>(() => ({ ...(status ? { status } : {}), ...(kind ? { kind } : {}) }), [status, kind]);
  const [{ data, fetching, error }, refetch] = useConsoleQuery({ query: DELIVERIES_QUERY, variables: { org, filter, first: PAGE_SIZE, after: pages.after } });
  // When the request for this page's data was sent: live attempts received after it may be newer than the rows.
  const fetchedAtMs = useDataRequestedAtMs(data, fetching);
  const { attempts: live } = useLive();
  const now = useNow(250);

  const rows = useMemo(() => {
    const edges = data?.deliveries.edges ?? [];
    // The newest state of each delivery seen live since this page was fetched.
    const latest = new Map<string, DeliverySummary>();
    for (const { attempt, receivedAtMs } of live) if (receivedAtMs >= fetchedAtMs) latest.set(attempt.deliveryId, attempt.delivery);
    const shown = edges.map(({ node }) => latest.get(node.id) ?? node);
    if (pages.page === 0) {
      const ids = new Set(shown.map((d) => d.id));
      const oldest = data?.deliveries.pageInfo.hasNextPage ? shown.at(-1)?.createdAt : undefined;
      for (const delivery of latest.values()) {
        if (ids.has(delivery.id)) continue;
        if (filter.status && delivery.status !== filter.status) continue;
        if (filter.kind && delivery.kind !== filter.kind) continue;
        if (oldest && delivery.createdAt < oldest) continue;
        shown.push(delivery);
      }
      shown.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    }
    return shown;
  }, [data, live, pages.page, filter, fetchedAtMs]);

  const changeFilter = (values: { status?: string; kind?: string }) => navigateQuery(withFilter(params, values));
  const loading = !data && fetching;

  return (
    <>
      <PageHeader
        title="Deliveries"
        subtitle="Every delivery to the webhook, newest first; attempts arrive live."
        actions={
          <RefreshButton refetch={refetch} fetching={fetching} />
        }
      />
      <AttemptsChart org={org} />
      <div className="card">
        <RecoverFailedForm org={org} onRecovered={() => refetch({ requestPolicy: 'network-only' })} />
      </div>
      <div className="card">
        <div className="filters" role="search">
          <label>
            Status
            <select value={status} onChange={(e) => changeFilter({ status: e.target.value })} data-testid="filter-status">
              <option value="">Any</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label>
            Kind
            <select value={kind} onChange={(e) => changeFilter({ kind: e.target.value })} data-testid="filter-kind">
              <option value="">Any</option>
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </label>
          {fetching ? <span className="muted">Loading…</span> : null}
        </div>
        <ErrorBanner errors={apiErrors(error)} />
        <TableScroll label="Deliveries">
          <table className="table table-hover" data-testid="deliveries-table" aria-busy={loading}>
            <thead>
              <tr>
                <th>Created</th>
                <th>Kind</th>
                <th>Status</th>
                <th className="num">Events</th>
                <th className="num">Attempts</th>
                <th>Last code</th>
                <th className="num">Duration</th>
                <th>Next attempt</th>
                <th>
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {loading ? <LoadingRow columns={9} /> : null}
              {rows.map((delivery) => (
                <DeliveryRow key={delivery.id} org={org} delivery={delivery} nowMs={now} onRedelivered={() => refetch({ requestPolicy: 'network-only' })} />
              ))}
              {rows.length === 0 && data && !fetching ? (
                <tr>
                  <td colSpan={9} className="muted empty">
                    No deliveries{status || kind ? ' match these filters' : ' yet'}.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </TableScroll>
        <Pager page={pages.page} knowsPrevious={pages.knowsPrevious} hasNext={data?.deliveries.pageInfo.hasNextPage ?? false} loading={fetching} onNewer={pages.newer} onOlder={() => pages.older(data?.deliveries.pageInfo.endCursor ?? null)} />
      </div>
    </>
  );
}

function DeliveryRow({ org, delivery, nowMs, onRedelivered }: { org: string; delivery: DeliverySummary; nowMs: number; onRedelivered: () => void }) {
  const [redelivery, redeliver] = useMutation(REDELIVER);
  const last = lastAttempt(delivery);
  const waiting = delivery.status === 'PENDING' || delivery.status === 'RETRYING';
  const errors = apiErrors(redelivery.error);
  return (
    <tr data-delivery-id={delivery.id} data-status={delivery.status} data-kind={delivery.kind}>
      <td>
        <Link to={`/deliveries/${encodeURIComponent(delivery.id)}`} title={delivery.id}>
          <Time iso={delivery.createdAt} />
        </Link>
      </td>
      <td>
        <Badge value={delivery.kind} tone="info" />
      </td>
      <td>
        <Badge value={delivery.status} />
      </td>
      <td className="num">{delivery.eventCount}</td>
      <td className="num" data-testid="attempt-count">
        {delivery.attemptCount}/{delivery.maxAttempts}
      </td>
      <td className="mono" title={last?.error ?? undefined}>
        {last ? (last.statusCode ?? last.error ?? '—') : '—'}
      </td>
      <td className="num">{last ? formatDurationMs(last.durationMs) : '—'}</td>
      <td>{waiting && delivery.nextAttemptAt ? <span title={delivery.nextAttemptAt}>{formatRelative(delivery.nextAttemptAt, nowMs)}</span> : <span className="muted">—</span>}</td>
      <td className="row-actions">
        {isFinished(delivery) ? (
          <button type="button" className="button button-small" onClick={() => void redeliver({ org, id: delivery.id }).then((r) => !r.error && onRedelivered())} disabled={redelivery.fetching}>
            Redeliver
          </button>
        ) : null}
        {delivery.status === 'RETRYING' ? <RetryNowButton org={org} id={delivery.id} onRetried={onRedelivered} /> : null}
        {errors.length ? (
          <span className="field-error" role="alert">
            {errors[0]!.message}
          </span>
        ) : null}
      </td>
    </tr>
  );
}
