import { createContext, useContext, useEffect, useSyncExternalStore, type ReactNode } from 'react';
import { useClient } from 'urql';
import { DELIVERY_ATTEMPTS_SUBSCRIPTION, type LiveAttempt } from '../api/operations';
import type { SocketState } from './client';

/** How many live attempts the console keeps in memory (the chart needs the last hour only). */
const MAX_LIVE_ATTEMPTS = 5000;

/** A live attempt with the local time it arrived, to tell it from older query results. */
export interface ReceivedAttempt {
  attempt: LiveAttempt;
  receivedAtMs: number;
}

/** Attempts received over the deliveryAttempts subscription since sign-in, and the socket's state. */
export class LiveAttemptStore {
  private attempts: ReceivedAttempt[] = [];
  private socket: SocketState = 'connecting';
  private subscriptionError: string | null = null;
  private readonly listeners = new Set<() => void>();
  private snapshot = { attempts: this.attempts, socket: this.socket, error: this.subscriptionError };

  /** For useSyncExternalStore. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** The current state; a new object only when something changed. */
  getSnapshot = () => this.snapshot;

  add(attempt: LiveAttempt): void {
    if (this.attempts.some((a) => a.attempt.id === attempt.id)) return;
    this.attempts = [...this.attempts, { attempt, receivedAtMs: Date.now() }].slice(-MAX_LIVE_ATTEMPTS);
    this.emit();
  }

  setSocket(state: SocketState): void {
    if (state === this.socket) return;
    this.socket = state;
    this.emit();
  }

  setError(message: string | null): void {
    if (message === this.subscriptionError) return;
    this.subscriptionError = message;
    this.emit();
  }

  private emit(): void {
    this.snapshot = { attempts: this.attempts, socket: this.socket, error: this.subscriptionError };
    for (const listener of this.listeners) listener();
  }
}

const StoreContext = createContext<LiveAttemptStore | null>(null);

/** Provides the store and keeps one deliveryAttempts subscription open for the signed-in ADMIN's organization. */
export function LiveAttemptsProvider({ store, organizationId, enabled, children }: { store: LiveAttemptStore; organizationId: string; enabled: boolean; children: ReactNode }) {
  const client = useClient();
  useEffect(() => {
    if (!enabled) return;
    const { unsubscribe } = client.subscription(DELIVERY_ATTEMPTS_SUBSCRIPTION, { org: organizationId }).subscribe((result) => {
      if (result.error) store.setError(result.error.graphQLErrors[0]?.message ?? result.error.message);
      if (result.data?.deliveryAttempts) {
        store.setError(null);
        store.add(result.data.deliveryAttempts);
      }
    });
    return unsubscribe;
  }, [client, organizationId, enabled, store]);
  return <StoreContext.Provider value={store}>{children}</StoreContext.Provider>;
}

/** Live attempts, the socket state and any subscription error; re-renders as attempts arrive. */
export function useLive() {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useLive outside LiveAttemptsProvider');
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}

/** Live attempts of one delivery, oldest first. */
export function useLiveAttemptsOf(deliveryId: string | null): ReceivedAttempt[] {
  const { attempts } = useLive();
  return deliveryId ? attempts.filter((a) => a.attempt.deliveryId === deliveryId) : [];
}
