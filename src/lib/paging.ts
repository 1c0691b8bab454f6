import { badInput } from './app-error.js';
import { isId, type IdPrefix } from './ids.js';

/** The largest `first` of a paged list (the query limits weigh pages with it too). */
export const MAX_PAGE_SIZE = 500;
/** The page size when `first` is omitted. */
export const DEFAULT_PAGE_SIZE = 50;

/** One page of a newest-first listing with an opaque cursor. */
export interface Page<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null; hasPreviousPage: boolean; startCursor: string | null };
}

/** Opaque cursors over (time, id): stable under inserts because ids break ties. */
export function encodeCursor(time: Date, id: string): string {
  return Buffer.from(JSON.stringify([time.getTime(), id]), 'utf8').toString('base64url');
}

/**
 * The earliest and latest instants a time argument may hold: years 0001 to 9999 (PostgreSQL has no
 * year 0, SQLite and ISO 8601 stop at 9999), so every database compares them the same way.
 */
export const MIN_TIME_MS = Date.parse('0001-01-01T00:00:00.000Z');
/** See MIN_TIME_MS. */
export const MAX_TIME_MS = Date.parse('9999-12-31T23:59:59.999Z');
/** Longer than any cursor encodeCursor makes; longer input is refused before decoding. */
const MAX_CURSOR_LENGTH = 128;

/**
 * Reads a cursor made by encodeCursor over ids with `prefix`: a time within the DateTimeISO range
 * and an id of that kind, encoded exactly as encodeCursor would. Anything else is BAD_USER_INPUT
 * on `field`, so no cursor can put NaN or a foreign string into SQL.
 */
export function decodeCursor(cursor: string, prefix: IdPrefix, field = 'after'): { time: Date; id: string } {
  if (cursor.length <= MAX_CURSOR_LENGTH && /^[A-Za-z0-9_-]+$/.test(cursor)) {
    try {
      const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      if (Array.isArray(value) && value.length === 2) {
        const [timeMs, id] = value as unknown[];
        if (Number.isSafeInteger(timeMs) && (timeMs as number) >= MIN_TIME_MS && (timeMs as number) <= MAX_TIME_MS && isId(prefix, id)) {
          const time = new Date(timeMs as number);
          if (encodeCursor(time, id) === cursor) return { time, id };
        }
      }
    } catch {
      // not base64url JSON: fall through
    }
  }
  throw badInput(field, 'the cursor is malformed; pass an endCursor from a previous page');
}

/** Validates `first` for every paginated listing. */
export function pageSize(first: number | null | undefined, field = 'first'): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) throw badInput(field, `first must be between 1 and ${MAX_PAGE_SIZE}`);
  return first;
}

/**
 * Turns a (limit + 1)-row result into a page. `hasPrevious` says whether the listing holds items
 * before the page (newer than or at the `after` cursor, see atOrNewerThan); false for a first page.
 */
export function toPage<T extends { id: string }>(rows: T[], limit: number, timeOf: (row: T) => Date, hasPrevious = false): Page<T> {
  const nodes = rows.slice(0, limit);
  const edges = nodes.map((node) => ({ cursor: encodeCursor(timeOf(node), node.id), node }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > limit, endCursor: edges.at(-1)?.cursor ?? null, hasPreviousPage: hasPrevious, startCursor: edges[0]?.cursor ?? null },
  };
}

/** The ORM condition "after the cursor" of a newest-first listing over (time, id). */
export function olderThan(cursor: { time: Date; id: string }, timeField: string): Record<string, unknown> {
  return { $or: [{ [timeField]: { $lt: cursor.time } }, { [timeField]: cursor.time, id: { $lt: cursor.id } }] };
}

/** The ORM condition "the cursor's item or before it" (newer): what `hasPreviousPage` looks for. */
export function atOrNewerThan(cursor: { time: Date; id: string }, timeField: string): Record<string, unknown> {
  return { $or: [{ [timeField]: { $gt: cursor.time } }, { [timeField]: cursor.time, id: { $gte: cursor.id } }] };
}

