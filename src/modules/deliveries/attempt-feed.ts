import { InProcessNotifications, MAX_NOTIFICATION_PAYLOAD_BYTES, NotificationChannels, type Notifications } from '../../db/notifications.js';
import { AppError } from '../../lib/app-error.js';
import { DeliveryAttempt } from './delivery.entity.js';

/** Attempts buffered for one subscriber that is not reading; past this it is ended rather than allowed to grow. */
export const MAX_PENDING_ATTEMPTS = 1_000;

type Listener = (attempt: DeliveryAttempt) => void;

/** Reads one attempt by id: for notifications that carry only the id (the attempt was too large to send). */
export type AttemptLoader = (attemptId: string) => Promise<DeliveryAttempt | null>;

/**
 * Recorded attempts, from whichever process made them, to the live subscribers of this process,
 * keyed by organization. `publish` goes through the notification port (PostgreSQL: NOTIFY to every
 * process; SQLite: this process), and `listen` fans what arrives out to this process's subscribers.
 * An attempt too large for one notification (a long response body) is sent as its id and read back.
 *
 * Each subscription is a plain async iterator rather than an async generator: a generator suspended
 * in `await` cannot be returned until its next value arrives, so a socket closed while waiting would
 * keep its listener until the organization's next attempt (or forever). Here `return()` removes the
 * listener at once and settles a pending `next()`.
 */
export class AttemptFeed {
  private readonly listeners = new Map<string, Set<Listener>>();
  private unsubscribe: (() => Promise<void>) | null = null;

  constructor(
    private readonly notifications: Notifications = new InProcessNotifications(),
    private readonly loadAttempt: AttemptLoader = async () => null,
    /** Told when a notification could not be sent or read (the attempt is stored either way). */
    private readonly onError: (error: unknown, context: string) => void = () => undefined,
  ) {}

  /** Called once an attempt is committed, so subscribers never see an attempt that was rolled back. */
  publish(attempt: DeliveryAttempt): void {
    let payload = JSON.stringify(attempt);
    if (Buffer.byteLength(payload, 'utf8') > MAX_NOTIFICATION_PAYLOAD_BYTES) payload = JSON.stringify({ attemptId: attempt.id });
    this.notifications.publish(NotificationChannels.attemptRecorded, payload).catch((error: unknown) => this.onError(error, 'publish'));
  }

  /** Starts receiving attempts for this process's subscribers (processes that serve GraphQL). */
  async listen(): Promise<void> {
    this.unsubscribe ??= await this.notifications.subscribe(NotificationChannels.attemptRecorded, (payload) => {
      this.received(payload).catch((error: unknown) => this.onError(error, 'receive'));
    });
  }

  /** Stops receiving; open subscriptions stay open but hear nothing more. */
  async stopListening(): Promise<void> {
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = null;
    await unsubscribe?.();
  }

  private async received(payload: string): Promise<void> {
    const message = JSON.parse(payload) as Record<string, unknown>;
    const attempt = typeof message.attemptId === 'string' && message.delivery === undefined ? await this.loadAttempt(message.attemptId) : decodeAttempt(message);
    if (!attempt) return;
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

/** An attempt as JSON.stringify wrote it, back as the entity GraphQL resolves (dates as Date). */
function decodeAttempt(message: Record<string, unknown>): DeliveryAttempt {
  const attempt = Object.assign(new DeliveryAttempt(), message) as DeliveryAttempt;
  attempt.startedAt = new Date(String(message.startedAt));
  attempt.nextAttemptAt = message.nextAttemptAt ? new Date(String(message.nextAttemptAt)) : null;
  return attempt;
}
