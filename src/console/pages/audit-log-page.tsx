import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { apiErrors, formErrors } from '../api/errors';
import { AUDIT_EVENTS_QUERY, type AuditEvent, type AuditEventFilter } from '../api/operations';
import { useConsoleQuery } from '../app/connectivity';
import { Link, navigateQuery, useSearchParams } from '../app/router';
import { isoToLocalInput, localInputToIso, zoneName } from '../components/format';
import { ErrorBanner, Field, LoadingRow, PageHeader, Pager, RefreshButton, TableScroll, Time } from '../components/ui';
import { useUrlCursorPages, withFilter } from '../components/url-pages';

/** Rows per page of the audit log. */
const PAGE_SIZE = 25;

const FILTER_CONTROLS: Record<string, string> = { 'filter.action': 'action', 'filter.actorId': 'actor', 'filter.from': 'from', 'filter.to': 'to' };

/** A short "who": name, else email, else id. */
export function actorLabel(actor: AuditEvent['actor']): string {
  return actor.name ?? actor.email ?? actor.id;
}

/** The filter a URL's query describes (`?action=…&actor=…&from=ISO&to=ISO`), so a view can be shared. */
function filterFromParams(params: URLSearchParams): AuditEventFilter {
  const action = params.get('action')?.trim();
  const actorId = params.get('actor')?.trim();
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';
  const iso = (value: string) => (value && !Number.isNaN(new Date(value).getTime()) ? new Date(value).toISOString() : undefined);
  const fromIso = iso(from);
  const toIso = iso(to);
  return { ...(action ? { action } : {}), ...(actorId ? { actorId } : {}), ...(fromIso ? { from: fromIso } : {}), ...(toIso ? { to: toIso } : {}) };
}

function draftOf(filter: AuditEventFilter) {
  return { action: filter.action ?? '', actorId: filter.actorId ?? '', from: isoToLocalInput(filter.from), to: isoToLocalInput(filter.to) };
}

/**
 * The audit log: filter by action and actor (exact match, as the API's filter does) and time range, newest first,
 * cursor paging; filters and page live in the URL's query. Each row opens the full event.
 */
export function AuditLogPage({ org }: { org: string }) {
  const params = useSearchParams();
  const filterKey = ['action', 'actor', 'from', 'to'].map((k) => params.get(k) ?? '').join('\u0000');
  // filterKey names exactly what the filter reads, so the filter object changes only when it does.
  const filter = useMemo(() => filterFromParams(params), [filterKey]);
  const [draft, setDraft] = useState(() => draftOf(filter));
  // Back/forward (or a pasted link) changes the filter: show it in the form.
  useEffect(() => setDraft(draftOf(filter)), [filter]);
  const pages = useUrlCursorPages();
  const variables = useMemo(() => ({ org, filter, first: PAGE_SIZE, after: pages.after }), [org, filter, pages.after]);
  const [{ data, fetching, error }, refetch] = useConsoleQuery({ query: AUDIT_EVENTS_QUERY, variables });
  const { byControl, general } = formErrors(apiErrors(error), FILTER_CONTROLS);
  const zone = zoneName();

  const apply = (event: FormEvent) => {
    event.preventDefault();
    navigateQuery(
      withFilter(params, { action: draft.action.trim(), actor: draft.actorId.trim(), from: localInputToIso(draft.from), to: localInputToIso(draft.to) }),
    );
  };
  const clear = () => {
    setDraft({ action: '', actorId: '', from: '', to: '' });
    navigateQuery(withFilter(params, { action: '', actor: '', from: '', to: '' }));
  };
  const loading = !data && fetching;

  return (
    <>
      <PageHeader title="Audit log" subtitle="Events recorded for this organization, newest first." actions={<RefreshButton refetch={refetch} fetching={fetching} />} />
      <div className="card">
        <form className="filters filters-form" onSubmit={apply} role="search" aria-label="Audit log filters" data-testid="audit-filters">
          <Field id="filter-action" label="Action (exact match)" error={byControl.action}>
            <input id="filter-action" type="text" placeholder="user_logged_in" spellCheck={false} value={draft.action} onChange={(e) => setDraft({ ...draft, action: e.target.value })} />
          </Field>
          <Field id="filter-actor" label="Actor ID (exact match)" error={byControl.actor}>
            <input id="filter-actor" type="text" placeholder="user_123" spellCheck={false} value={draft.actorId} onChange={(e) => setDraft({ ...draft, actorId: e.target.value })} />
          </Field>
          <Field id="filter-from" label={`From (${zone})`} error={byControl.from}>
            <input id="filter-from" type="datetime-local" step={1} value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
          </Field>
          <Field id="filter-to" label={`To (${zone})`} error={byControl.to}>
            <input id="filter-to" type="datetime-local" step={1} value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
          </Field>
          <div className="actions filters-actions">
            <button type="submit" className="button button-primary">
              Apply
            </button>
            <button type="button" className="button" onClick={clear}>
              Clear
            </button>
          </div>
        </form>
        <p className="hint filters-hint">Action and actor match the whole value. The filters and page are in this page's address: copy it to share the view.</p>
        <ErrorBanner errors={general} />
        <TableScroll label="Audit events">
          <table className="table table-hover" data-testid="audit-table" aria-busy={loading}>
            <thead>
              <tr>
                <th>Time</th>
                <th>Action</th>
                <th>Actor</th>
                <th>Target</th>
                <th>Message</th>
              </tr>
            </thead>
            <tbody>
              {loading ? <LoadingRow columns={5} /> : null}
              {(data?.auditEvents.edges ?? []).map(({ node: event }) => (
                <tr key={event.id} data-event-id={event.id}>
                  <td className="nowrap">
                    <Link to={`/audit-log/${encodeURIComponent(event.id)}`} title={event.id}>
                      <Time iso={event.time} />
                    </Link>
                  </td>
                  <td className="mono">{event.action}</td>
                  <td title={event.actor.id}>{actorLabel(event.actor)}</td>
                  <td>{event.context.map((o) => o.name ?? `${o.type}:${o.id}`).join(', ') || <span className="muted">—</span>}</td>
                  <td className="message-cell">{event.message ?? <span className="muted">—</span>}</td>
                </tr>
              ))}
              {data && data.auditEvents.edges.length === 0 ? (
                <tr>
                  <td colSpan={5} className="muted empty">
                    No events{Object.keys(filter).length ? ' match these filters' : ' yet'}.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </TableScroll>
        <Pager
          page={pages.page}
          knowsPrevious={pages.knowsPrevious}
          hasNext={data?.auditEvents.pageInfo.hasNextPage ?? false}
          loading={fetching}
          onNewer={pages.newer}
          onOlder={() => pages.older(data?.auditEvents.pageInfo.endCursor ?? null)}
        />
      </div>
    </>
  );
}
