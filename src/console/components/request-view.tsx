import { useState } from 'react';
import type { SentRequest } from '../api/operations';
import { curlCommand } from './curl';
import { CopyButton, TableScroll } from './ui';

/**
 * The request as sent: the delivery's body (the same on every attempt) and, per attempt, the URL and
 * headers it went with (authorization as its scheme only), with "Copy as curl" that leaves the secret out.
 */
export function RequestView({ payload, attempts }: { payload: Record<string, unknown>; attempts: SentRequest[] }) {
  const ordered = [...attempts].sort((a, b) => b.attemptNumber - a.attemptNumber || b.id.localeCompare(a.id));
  const [chosenId, setChosenId] = useState<string | null>(null);
  const attempt = ordered.find((a) => a.id === chosenId) ?? ordered[0];
  const body = JSON.stringify(payload);
  return (
    <div className="card" data-testid="request-view">
      <h2>Request as sent</h2>
      {attempt ? (
        <>
          <div className="filters">
            <label>
              Attempt
              <select value={attempt.id} onChange={(e) => setChosenId(e.target.value)} data-testid="request-attempt">
                {ordered.map((a) => (
                  <option key={a.id} value={a.id}>
                    #{a.attemptNumber}
                  </option>
                ))}
              </select>
            </label>
            <div className="filters-actions">
              <CopyButton text={curlCommand({ url: attempt.url, headers: attempt.requestHeaders, body })} label="Copy as curl" />
            </div>
          </div>
          <dl className="details">
            <dt>URL</dt>
            <dd className="mono" data-testid="request-url">
              POST {attempt.url}
            </dd>
          </dl>
          {attempt.requestHeaders.length === 0 ? (
            <p className="muted">No headers recorded: nothing was sent (the stored secrets could not be read), or the attempt predates header recording.</p>
          ) : (
            <TableScroll label="Request headers">
              <table className="table" data-testid="request-headers">
                <thead>
                  <tr>
                    <th>Header</th>
                    <th>Value</th>
                  </tr>
                </thead>
                <tbody>
                  {attempt.requestHeaders.map((header) => (
                    <tr key={header.name}>
                      <td className="mono">{header.name}</td>
                      <td className="mono body-cell">
                        {header.value}
                        {header.name === 'authorization' ? <span className="tag">credentials not shown</span> : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          )}
          <details>
            <summary>curl command (the secret is left out)</summary>
            <pre className="response-body" tabIndex={0} data-testid="curl-command">
              {curlCommand({ url: attempt.url, headers: attempt.requestHeaders, body })}
            </pre>
          </details>
        </>
      ) : (
        <p className="muted">Not sent yet: no attempt so far. The body below is what it will carry.</p>
      )}
      <h3>Body</h3>
      <pre className="json" tabIndex={0} aria-label="Request body" data-testid="request-body">
        {JSON.stringify(payload, null, 2)}
      </pre>
    </div>
  );
}
