import { useMemo, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

const NAVIGATE_EVENT = 'audithook:navigate';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATE_EVENT, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATE_EVENT, onChange);
  };
}

/** The current path; re-renders on navigation (a tiny router: the console has five pages). */
export function usePath(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname);
}

/** The current query string's parameters (a new object when the query changes), so views can live in the URL. */
export function useSearchParams(): URLSearchParams {
  const search = useSyncExternalStore(subscribe, () => window.location.search);
  return useMemo(() => new URLSearchParams(search), [search]);
}

/** Goes to this path with `params` as its query (none when empty), as a new history entry unless `replace`. */
export function navigateQuery(params: URLSearchParams, options: { replace?: boolean; state?: unknown } = {}): void {
  const query = params.toString();
  navigate(`${window.location.pathname}${query ? `?${query}` : ''}`, { ...options, keepScroll: true });
}

/** Goes to a console path (with an optional `?query`) without reloading the page. */
export function navigate(path: string, options: { replace?: boolean; keepScroll?: boolean; state?: unknown } = {}): void {
  if (path === window.location.pathname + window.location.search) return;
  if (options.replace) window.history.replaceState(options.state ?? null, '', path);
  else window.history.pushState(options.state ?? null, '', path);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
  if (!options.keepScroll) window.scrollTo(0, 0);
}

/** An in-app link: a real <a href> (open in new tab works) that navigates without reloading on a plain click. */
export function Link({ to, onClick, ...props }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const handle = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={handle} {...props} />;
}
