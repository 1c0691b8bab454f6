import type { Attempt } from '../api/operations';
import { formatDurationMs } from './format';
import { Badge, TableScroll, Time } from './ui';

/** How much of a response body the compact table shows; the detail view shows all 4 KiB. */
const COMPACT_BODY_CHARS = 80;

/** Attempts oldest first: query results and live ones merged by id. */
export function mergeAttempts(...lists: Attempt[][]): Attempt[] {
  const byId = new Map<string, Attempt>();
  for (const list of lists) for (const attempt of list) byId.set(attempt.id, attempt);
  return [...byId.values()].sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.attemptNumber - b.attemptNumber);
}

/** Every attempt: number, outcome, status code, error, duration, start and the receiver's response body (as text). */
export function AttemptsTable({ attempts, compact = false }: { attempts: Attempt[]; compact?: boolean }) {
  if (attempts.length === 0) return <p className="muted empty">No attempt yet.</p>;
  return (
    <TableScroll label="Attempts">
      <table className="table" data-testid="attempts-table">
        <thead>
          <tr>
            <th>#</th>
            <th>Outcome</th>
            <th>Status code</th>
            <th>Error</th>
            <th className="num">Duration</th>
            <th>Started at</th>
            <th>Response body</th>
          </tr>
        </thead>
        <tbody>
          {attempts.map((attempt) => (
            <tr key={attempt.id} data-attempt-number={attempt.attemptNumber} data-outcome={attempt.outcome}>
              <td className="num">{attempt.attemptNumber}</td>
              <td>
                <Badge value={attempt.outcome} />
              </td>
              <td className="mono">{attempt.statusCode ?? '—'}</td>
              <td className="mono">{attempt.error ?? '—'}</td>
              <td className="num">{formatDurationMs(attempt.durationMs)}</td>
              <td>
                <Time iso={attempt.startedAt} />
              </td>
              <td className="body-cell">
                {attempt.responseBody ? (
                  compact ? (
                    <code title={attempt.responseBody}>
                      {attempt.responseBody.length > COMPACT_BODY_CHARS ? `${attempt.responseBody.slice(0, COMPACT_BODY_CHARS)}…` : attempt.responseBody}
                    </code>
                  ) : (
                    <pre className="response-body">{attempt.responseBody}</pre>
                  )
                ) : (
                  <span className="muted">—</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}

/** "Next attempt in 0.3 s" until `nextAttemptAt`, then "attempting now…". */
export function Countdown({ nextAttemptAt, nowMs }: { nextAttemptAt: string; nowMs: number }) {
  const remainingMs = new Date(nextAttemptAt).getTime() - nowMs;
  return (
    <span className="countdown" data-testid="countdown">
      {remainingMs > 0 ? `Next attempt in ${remainingMs < 10_000 ? (remainingMs / 1000).toFixed(1) : Math.ceil(remainingMs / 1000)} s` : 'Attempting now…'}
    </span>
  );
}
