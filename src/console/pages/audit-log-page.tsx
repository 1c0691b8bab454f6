import { useMemo, useState, type FormEvent } from 'react';
import { useQuery } from 'urql';
import { apiErrors, formErrors } from '../api/errors';
import { AUDIT_EVENTS_QUERY, type AuditEvent, type AuditEventFilter } from '../api/operations';
import { Link } from '../app/router';
import { localInputToIso } from '../components/format';
import { ErrorBanner, Field, PageHeader, Pager, RefreshButton, Time, useCursorPages } from '../components/ui';

/** Rows per page of the audit log. */
const PAGE_SIZE = 25;

const FILTER_CONTROLS: Record<string, string> = { 'filter.action': 'action', 'filter.actorId': 'actor', 'filter.from': 'from', 'filter.to': 'to' };

/** A short "who": name, else email, else id. */
export function actorLabel(actor: AuditEvent['actor']): string {
  return actor.name ?? actor.email ?? actor.id;
}

/** The audit log: filter by action, actor and time range, newest first, cursor paging; each row opens the full event. */
export function AuditLogPage({ org }: { org: string }) {
  const [draft, setDraft] = useState({ action: '', actorId: '', from: '', to: '' });
  const [filter, setFilter] = useState<AuditEventFilter>({});
  const pages = useCursorPages();
  const variables = useMemo(() => ({ org, filter, first: PAGE_SIZE, after: pages.after }), [org, filter, pages.after]);
  const [{ data, fetching, error }, refetch] = useQuery({ query: AUDIT_EVENTS_QUERY, variables });
  const { byControl, general } = formErrors(apiErrors(error), FILTER_CONTROLS);

  const apply = (event: FormEvent) => {
    event.preventDefault();
    const from = localInputToIso(draft.from);
    const to = localInputToIso(draft.to);
    setFilter({
      ...(draft.action.trim() ? { action: draft.action.trim() } : {}),
      ...(draft.actorId.trim() ? { actorId: draft.actorId.trim() } : {}),
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
    });
    pages.reset();
  };
  const clear = () => {
    setDraft({ action: '', actorId: '', from: '', to: '' });
    setFilter({});
    pages.reset();
  };

  return (
    <>
      <PageHeader
        title="Audit log"
        subtitle="Events recorded for this organization, newest first."
        actions={
          <RefreshButton refetch={refetch} fetching={fetching} />
        }
      />
      <div className="card">
        <form className="filters filters-form" onSubmit={apply} role="search" data-testid="audit-filters">
          <Field id="filter-action" label="Action" error={byControl.action}>
            <input id="filter-action" type="text" placeholder="user_logged_in" spellCheck={false} value={draft.action} onChange={(e) => setDraft({ ...draft, action: e.target.value })} />
          </Field>
          <Field id="filter-actor" label="Actor ID" error={byControl.actor}>
            <input id="filter-actor" type="text" placeholder="user_123" spellCheck={false} value={draft.actorId} onChange={(e) => setDraft({ ...draft, actorId: e.target.value })} />
          </Field>
          <Field id="filter-from" label="From" error={byControl.from}>
            <input id="filter-from" type="datetime-local" step={1} value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
          </Field>
          <Field id="filter-to" label="To" error={byControl.to}>
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
        <ErrorBanner errors={general} />
        <div className="table-wrap">
          <table className="table table-hover" data-testid="audit-table">
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
        </div>
        <Pager page={pages.page} hasNext={data?.auditEvents.pageInfo.hasNextPage ?? false} loading={fetching} onNewer={pages.newer} onOlder={() => pages.older(data?.auditEvents.pageInfo.endCursor ?? null)} />
      </div>
    </>
  );
}
