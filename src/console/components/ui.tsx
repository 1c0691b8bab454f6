import { useState, type ReactNode } from 'react';
import { describe, type ApiError } from '../api/errors';
import { formatRelative, formatTime } from './format';
import { useNow } from './hooks';

/** A colored pill for an enum value (status, outcome, role, kind). */
export function Badge({ value, tone }: { value: string; tone?: 'good' | 'bad' | 'warn' | 'info' | 'muted' }) {
  const resolved = tone ?? toneOf(value);
  return <span className={`badge badge-${resolved}`} data-value={value}>{value}</span>;
}

function toneOf(value: string): 'good' | 'bad' | 'warn' | 'info' | 'muted' {
  switch (value) {
    case 'SUCCEEDED':
    case 'ACTIVE':
      return 'good';
    case 'FAILED':
    case 'DISABLED':
      return 'bad';
    case 'RETRYING':
    case 'PENDING':
      return 'warn';
    case 'CANCELLED':
      return 'muted';
    default:
      return 'info';
  }
}

/** A time as local "YYYY-MM-DD HH:mm:ss ZONE" with the exact ISO value on hover, optionally "(3 s ago)". */
export function Time({ iso, relative = false }: { iso: string | null | undefined; relative?: boolean }) {
  const tick = useNow(relative ? 1000 : 60_000);
  if (!iso) return <span className="muted">—</span>;
  // The tick can be up to a second old; a time that just arrived must not read "in 0.5 s".
  const now = Math.max(tick, Date.now());
  return (
    <time dateTime={iso} title={iso}>
      {formatTime(iso)}
      {relative ? <span className="muted"> ({formatRelative(iso, now)})</span> : null}
    </time>
  );
}

/** What a screen shows until its first answer arrives (never an empty table or "none yet"). */
export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="muted loading" role="status" aria-busy="true" data-testid="loading">
      {label}
    </p>
  );
}

/**
 * A table's box: on a narrow screen the table scrolls sideways inside it instead of widening the page; it is
 * focusable (and named) so keyboard users can scroll it too.
 */
export function TableScroll({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label={label}>
      {children}
    </div>
  );
}

/** A table body row saying the rows are loading, spanning `columns`. */
export function LoadingRow({ columns }: { columns: number }) {
  return (
    <tr>
      <td colSpan={columns} className="muted empty" role="status" aria-busy="true" data-testid="loading">
        Loading…
      </td>
    </tr>
  );
}

/** Errors that belong to no single field, above or below a form. */
export function ErrorBanner({ errors, testId }: { errors: ApiError[]; testId?: string }) {
  if (errors.length === 0) return null;
  return (
    <div className="alert alert-error" role="alert" data-testid={testId}>
      {errors.map((error, index) => (
        <div key={index}>{describe(error)}</div>
      ))}
    </div>
  );
}

/** A labelled form control with its error right under it (linked by aria-describedby). */
export function Field({ id, label, error, hint, children }: { id: string; label: string; error?: string | undefined; hint?: ReactNode; children: ReactNode }) {
  return (
    <div className={`field${error ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint ? <div className="hint">{hint}</div> : null}
      {error ? (
        <div className="field-error" id={`${id}-error`} role="alert">
          {error}
        </div>
      ) : null}
    </div>
  );
}

/** Copies text to the clipboard; says "Copied" for a moment. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      setState('failed');
    }
    window.setTimeout(() => setState('idle'), 2000);
  };
  return (
    <button type="button" className="button button-small" onClick={() => void copy()}>
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select and copy' : label}
    </button>
  );
}

/** An inline "are you sure" box: nothing destructive happens on the first click. */
export function Confirm({ message, confirmLabel, onConfirm, onCancel, busy }: { message: ReactNode; confirmLabel: string; onConfirm: () => void; onCancel: () => void; busy?: boolean }) {
  return (
    <div className="confirm" role="alertdialog" aria-label={confirmLabel}>
      <div className="confirm-message">{message}</div>
      <div className="actions">
        <button type="button" className="button button-danger" onClick={onConfirm} disabled={busy}>
          {confirmLabel}
        </button>
        <button type="button" className="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </div>
  );
}

/** Cursor paging forward (first/after); back one page when the previous cursor is known, else to the newest. */
export function Pager({
  page,
  knowsPrevious = true,
  hasNext,
  onNewer,
  onOlder,
  loading,
}: {
  page: number;
  knowsPrevious?: boolean;
  hasNext: boolean;
  onNewer: () => void;
  onOlder: () => void;
  loading: boolean;
}) {
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" className="button" onClick={onNewer} disabled={page === 0 || loading}>
        {knowsPrevious || page <= 1 ? '← Newer' : '← Newest'}
      </button>
      <span className="muted">Page {page + 1}</span>
      <button type="button" className="button" onClick={onOlder} disabled={!hasNext || loading}>
        Older →
      </button>
    </nav>
  );
}

/** A page's title row with actions on the right. */
export function PageHeader({ title, subtitle, actions }: { title: string; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle ? <p className="muted">{subtitle}</p> : null}
      </div>
      {actions ? <div className="actions">{actions}</div> : null}
    </div>
  );
}

/** The page-header Refresh: bypasses urql's cache, since other tabs and processes change what a page shows. */
export function RefreshButton({ refetch, fetching }: { refetch: (opts: { requestPolicy: 'network-only' }) => void; fetching: boolean }) {
  return (
    <button type="button" className="button" onClick={() => refetch({ requestPolicy: 'network-only' })} disabled={fetching}>
      Refresh
    </button>
  );
}
