const pad = (n: number) => String(n).padStart(2, '0');

/** Only the zone's short name is read from it; en-US gives "UTC", "EST", "CET" or "GMT+1". */
const ZONE_FORMAT = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' });

/** The browser's short name for its time zone at `date` ("UTC", "EST", "GMT+1"), so a shown time is never ambiguous. */
export function zoneName(date: Date = new Date()): string {
  const part = ZONE_FORMAT.formatToParts(date).find((p) => p.type === 'timeZoneName');
  return part?.value ?? 'local time';
}

/** "2026-11-24 10:15:30 UTC" in the browser's time zone, named: compact, sortable and unambiguous. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${zoneName(date)}`;
}

/** "10:15" in the browser's time zone (the chart's axis, whose caption names the zone). */
export function formatClock(ms: number): string {
  const date = new Date(ms);
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** "3 s ago", "in 2 min": how far `iso` is from `nowMs`. */
export function formatRelative(iso: string | null | undefined, nowMs: number): string {
  if (!iso) return '';
  const diffMs = new Date(iso).getTime() - nowMs;
  const abs = Math.abs(diffMs);
  if (abs < 1000 && diffMs <= 0) return 'just now';
  const text =
    abs < 1000 ? `${(abs / 1000).toFixed(1)} s` :
    abs < 60_000 ? `${Math.round(abs / 1000)} s` :
    abs < 3_600_000 ? `${Math.round(abs / 60_000)} min` :
    abs < 86_400_000 ? `${Math.round(abs / 3_600_000)} h` :
    `${Math.round(abs / 86_400_000)} d`;
  return diffMs >= 0 ? `in ${text}` : `${text} ago`;
}

/** "850 ms", "2.4 s". */
export function formatDurationMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** An ISO-8601 time as a `<input type="datetime-local">` value in the browser's zone (seconds kept), or '' when invalid. */
export function isoToLocalInput(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** A `<input type="datetime-local">` value (local time) as ISO-8601 UTC, or undefined when empty or invalid. */
export function localInputToIso(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Pretty JSON for a <pre> (rendered as text). */
export function prettyJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
