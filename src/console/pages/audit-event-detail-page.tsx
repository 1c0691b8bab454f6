import { apiErrors } from '../api/errors';
import { AUDIT_EVENT_QUERY, type AuditObject } from '../api/operations';
import { useConsoleQuery } from '../app/connectivity';
import { Link } from '../app/router';
import { prettyJson } from '../components/format';
import { ErrorBanner, Loading, PageHeader, TableScroll, Time } from '../components/ui';

/** One audit event in full: actor, targets, containers, location, message; every value as text. */
export function AuditEventDetailPage({ org, id }: { org: string; id: string }) {
  const [{ data, fetching, error }] = useConsoleQuery({ query: AUDIT_EVENT_QUERY, variables: { org, id } });
  const event = data?.auditEvent;
  if (!event) {
    if (fetching) return <Loading />;
    return (
      <>
        <ErrorBanner errors={apiErrors(error)} />
        {!error ? (
          <div className="card">
            <h1>Event not found</h1>
            <p>
              No event <code>{id}</code> in this organization. <Link to="/audit-log">Back to the audit log</Link>
            </p>
          </div>
        ) : null}
      </>
    );
  }
  const location = event.location ? Object.entries(event.location).filter(([, v]) => v !== null && v !== '') : [];
  return (
    <>
      <p className="crumbs">
        <Link to="/audit-log">← Audit log</Link>
      </p>
      <PageHeader title={event.action} subtitle={<span className="mono">{event.id}</span>} />
      <div className="card" data-testid="event-detail">
        <dl className="details">
          <dt>Message</dt>
          <dd className="message-cell" data-testid="event-message">
            {event.message ?? <span className="muted">—</span>}
          </dd>
          <dt>Time</dt>
          <dd>
            <Time iso={event.time} relative />
          </dd>
          <dt>Received</dt>
          <dd>
            <Time iso={event.receivedAt} />
          </dd>
          <dt>Actor</dt>
          <dd>
            <span className="mono">{event.actor.id}</span>
            {event.actor.type ? <span className="muted"> ({event.actor.type})</span> : null}
            {event.actor.name ? <div>{event.actor.name}</div> : null}
            {event.actor.email ? <div className="muted">{event.actor.email}</div> : null}
          </dd>
          <dt>Location</dt>
          <dd>
            {location.length ? (
              location.map(([key, value]) => (
                <div key={key}>
                  <span className="muted">{key}: </span>
                  {String(value)}
                </div>
              ))
            ) : (
              <span className="muted">—</span>
            )}
          </dd>
        </dl>
      </div>
      <ObjectsCard title="Context (what it was done to)" objects={event.context} />
      <ObjectsCard title="Container (where)" objects={event.container} />
    </>
  );
}

function ObjectsCard({ title, objects }: { title: string; objects: AuditObject[] }) {
  return (
    <div className="card">
      <h2>{title}</h2>
      {objects.length === 0 ? (
        <p className="muted empty">None.</p>
      ) : (
        <TableScroll label={title}>
          <table className="table">
            <thead>
              <tr>
                <th>Type</th>
                <th>ID</th>
                <th>Name</th>
                <th>Attributes</th>
              </tr>
            </thead>
            <tbody>
              {objects.map((o, i) => (
                <tr key={`${o.type}:${o.id}:${i}`}>
                  <td className="mono">{o.type}</td>
                  <td className="mono">{o.id}</td>
                  <td>{o.name ?? <span className="muted">—</span>}</td>
                  <td>{o.attributes ? <pre className="json">{prettyJson(o.attributes)}</pre> : <span className="muted">—</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </div>
  );
}
