import { createContext, useContext, useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import { useQuery, type AnyVariables, type UseQueryArgs, type UseQueryResponse } from 'urql';

/** How often /healthz is asked while the server cannot be reached. */
const PROBE_INTERVAL_MS = 2000;

/**
 * Whether the server answered the console's latest request. After a network failure it asks /healthz every
 * PROBE_INTERVAL_MS until the server answers again, so screens that failed can ask again on their own.
 */
export class Connectivity {
  private unreachable: string | null = null;
  private timer: number | null = null;
  private disposed = false;
  private readonly listeners = new Set<() => void>();

  /** For useSyncExternalStore. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** The last network failure's message while the server is unreachable, else null. */
  getSnapshot = (): string | null => this.unreachable;

  /** A request could not reach the server. */
  failed(message: string): void {
    if (this.disposed) return;
    const wasReachable = this.unreachable === null;
    this.unreachable = message;
    if (wasReachable) {
      this.emit();
      this.schedule();
    }
  }

  /** The server answered (any HTTP answer, a socket connecting). */
  answered(): void {
    if (this.unreachable === null) return;
    this.unreachable = null;
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.timer = null;
    this.emit();
  }

  /** Stops probing (sign-out). */
  dispose(): void {
    this.disposed = true;
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.timer !== null || this.disposed) return;
    this.timer = window.setTimeout(() => {
      this.timer = null;
      void this.probe();
    }, PROBE_INTERVAL_MS);
  }

  private async probe(): Promise<void> {
    if (this.unreachable === null || this.disposed) return;
    try {
      const response = await fetch('/healthz', { cache: 'no-store', credentials: 'omit' });
      if (response.ok) {
        this.answered();
        return;
      }
    } catch {
      // still unreachable
    }
    this.schedule();
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

/** The signed-in session's Connectivity (a placeholder that never probes outside one). */
export const ConnectivityContext = createContext<Connectivity>(new Connectivity());

/** The server's reachability: null when reachable, else the last failure's message. */
export function useUnreachable(): string | null {
  const connectivity = useContext(ConnectivityContext);
  return useSyncExternalStore(connectivity.subscribe, connectivity.getSnapshot);
}

/** Runs `retry` once the server is reachable again, if `failed` (a screen's last load hit a network error). */
export function useRetryWhenReachable(failed: boolean, retry: () => void): void {
  const unreachable = useUnreachable();
  const retryRef = useRef(retry);
  retryRef.current = retry;
  useEffect(() => {
    if (failed && unreachable === null) retryRef.current();
  }, [failed, unreachable]);
}

/** urql's useQuery, asked again by itself when it failed to reach the server and the server is back. */
export function useConsoleQuery<Data = unknown, Variables extends AnyVariables = AnyVariables>(args: UseQueryArgs<Variables, Data>): UseQueryResponse<Data, Variables> {
  const response = useQuery<Data, Variables>(args);
  const [{ error, fetching }, refetch] = response;
  useRetryWhenReachable(Boolean(error?.networkError) && !fetching, () => refetch({ requestPolicy: 'network-only' }));
  return response;
}

/**
 * When the request that brought `data` was sent (ms since the epoch), for merging live updates: one
 * received after it may be newer than `data`, one received before it is already in `data`. (The time
 * `data` arrived would drop a live update that came in while the request was in flight, e.g. a retry
 * that succeeded between the query's execution and its answer, and leave the row stale.)
 */
export function useDataRequestedAtMs(data: unknown, fetching: boolean): number {
  const sentAtMs = useRef<number | null>(null);
  const wasFetching = useRef(false);
  if (fetching && !wasFetching.current) sentAtMs.current = Date.now();
  wasFetching.current = fetching;
  return useMemo(() => (data ? (sentAtMs.current ?? Date.now()) : 0), [data]);
}
