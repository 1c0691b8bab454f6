import { AppError } from '../../lib/app-error.js';
import type { DeliveryAttempt } from './delivery.entity.js';

/** Attempts buffered for one subscriber that is not reading; past this it is ended rather than allowed to grow. */
export const MAX_PENDING_ATTEMPTS = 1_000;

type Listener = (attempt: DeliveryAttempt) => void;

/**
 * In-process fan-out of recorded attempts to live subscribers, keyed by organization.
 *
 * Each subscription is a plain async iterator rather than an async generator: a generator suspended
 * in `await` cannot be returned until its next value arrives, so a socket closed while waiting would
 * keep its listener until the organization's next attempt (or forever). Here `return()` removes the
 * listener at once and settles a pending `next()`.
 */
export class AttemptFeed {
  private readonly listeners = new Map<string, Set<Listener>>();

  /** Called once an attempt is committed, so subscribers never see an attempt that was rolled back. */
  publish(attempt: DeliveryAttempt): void {
    const listeners = this.listeners.get(attempt.organization);
    if (!listeners) return;
    for (const listener of [...listeners]) listener(attempt);
  }

  /** Live subscribers, in total or for one organization: for tests, metrics and leak checks. */
  listenerCount(organizationId?: string): number {
    if (organizationId !== undefined) return this.listeners.get(organizationId)?.size ?? 0;
    let total = 0;
    for (const set of this.listeners.values()) total += set.size;
    return total;
  }

  /** Attempts of one organization from now on; `onEnd` runs exactly once when the iterator ends for any reason. */
  subscribe(organizationId: string, onEnd: () => void = () => {}): AsyncIterableIterator<DeliveryAttempt> {
    const queue: DeliveryAttempt[] = [];
    let waiting: { resolve: (r: IteratorResult<DeliveryAttempt>) => void; reject: (e: unknown) => void } | null = null;
    let failure: AppError | null = null;
    let ended = false;

    const end = () => {
      if (ended) return;
      ended = true;
      const set = this.listeners.get(organizationId);
      set?.delete(listener);
      if (set && set.size === 0) this.listeners.delete(organizationId);
      queue.length = 0;
      onEnd();
    };
    const listener: Listener = (attempt) => {
      if (waiting) {
        const pending = waiting;
        waiting = null;
        pending.resolve({ value: attempt, done: false });
        return;
      }
      if (queue.length >= MAX_PENDING_ATTEMPTS) {
        failure = new AppError('CONFLICT', `the subscriber fell more than ${MAX_PENDING_ATTEMPTS} attempts behind and was ended; subscribe again`);
        end();
        return;
      }
      queue.push(attempt);
    };
    let set = this.listeners.get(organizationId);
    if (!set) this.listeners.set(organizationId, (set = new Set()));
    set.add(listener);

    const finish = (): Promise<IteratorResult<DeliveryAttempt>> => {
      end();
      if (waiting) {
        const pending = waiting;
        waiting = null;
        pending.resolve({ value: undefined, done: true });
      }
      return Promise.resolve({ value: undefined, done: true });
    };
    return {
      next() {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
        if (failure) {
          const error = failure;
          failure = null;
          return Promise.reject(error);
        }
        if (ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          waiting = { resolve, reject };
        });
      },
      return: finish,
      throw(error: unknown) {
        end();
        return Promise.reject(error);
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }
}
