import { navigateQuery, useSearchParams } from '../app/router';

/** What history.state holds for a paged view: the `after` cursor of every page before this one ('' for the first). */
interface PagesState {
  cursors: string[];
}

function previousCursors(): string[] | null {
  const state = window.history.state as Partial<PagesState> | null;
  return Array.isArray(state?.cursors) && state.cursors.every((c) => typeof c === 'string') ? state.cursors : null;
}

/**
 * Cursor paging kept in the URL (`?after=…&page=…`), so a page of a view can be shared and back/forward move between
 * pages. The cursors of the pages before it ride in history.state; a shared link has none, so "Newer" goes to the newest.
 */
export function useUrlCursorPages() {
  const params = useSearchParams();
  const after = params.get('after') || null;
  const shownPage = after ? Math.max(1, Number.parseInt(params.get('page') ?? '', 10) - 1 || 1) : 0;
  const cursors = after ? previousCursors() : [];
  // The previous page's cursor is known only when this tab paged here itself.
  const knowsPrevious = cursors !== null && cursors.length === shownPage;
  return {
    /** Zero-based. */
    page: shownPage,
    after,
    /** Whether "Newer" steps back one page (else it jumps to the newest). */
    knowsPrevious,
    older: (endCursor: string | null) => {
      if (!endCursor) return;
      const next = new URLSearchParams(params);
      next.set('after', endCursor);
      next.set('page', String(shownPage + 2));
      navigateQuery(next, { state: { cursors: [...(cursors ?? []), after ?? ''] } satisfies PagesState });
    },
    newer: () => {
      const next = new URLSearchParams(params);
      const previous = knowsPrevious && cursors ? cursors.at(-1) : '';
      if (previous) {
        next.set('after', previous);
        next.set('page', String(shownPage));
      } else {
        next.delete('after');
        next.delete('page');
      }
      navigateQuery(next, { state: { cursors: knowsPrevious && cursors ? cursors.slice(0, -1) : [] } satisfies PagesState });
    },
  };
}

/** `params` for the first page of a changed filter: each key set to its value, or removed when empty. */
export function withFilter(params: URLSearchParams, values: Record<string, string | undefined>): URLSearchParams {
  const next = new URLSearchParams(params);
  next.delete('after');
  next.delete('page');
  for (const [key, value] of Object.entries(values)) {
    if (value) next.set(key, value);
    else next.delete(key);
  }
  return next;
}
