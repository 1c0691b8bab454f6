import { BaseNotificationChannel } from 'agenda';
import type { JobNotification, JobStateNotification, NotificationChannelConfig } from 'agenda';

/**
 * In-process notification channel for the SQLite backend: a job saved by this process wakes this
 * process's job processor at once instead of at the next `processEvery` poll. Other processes sharing
 * the database file still find the job by polling (SQLite has no cross-process pub/sub).
 *
 * Unlike Agenda's InMemoryNotificationChannel, delivery happens on a later turn of the event loop, so
 * `job.save()` returns without waiting for the processor to lock jobs, and a throwing handler cannot
 * fail the save; handler errors are emitted as 'error' when someone listens for them.
 */
export class SqliteNotificationChannel extends BaseNotificationChannel {
  constructor(config: NotificationChannelConfig = {}) {
    // Nothing to reconnect to: the channel lives in this process.
    super({ channelName: 'agenda:sqlite', ...config, reconnect: { enabled: false } });
  }

  override async connect(): Promise<void> {
    this.setState('connected');
  }

  /** Stops delivery, including notifications published but not yet delivered; subscribers stay registered. */
  override async disconnect(): Promise<void> {
    this.setState('disconnected');
  }

  override async publish(notification: JobNotification): Promise<void> {
    this.assertConnected('publish');
    this.deliverLater(this.handlers, notification);
  }

  async publishState(notification: JobStateNotification): Promise<void> {
    this.assertConnected('publish state');
    this.deliverLater(this.stateHandlers, notification);
  }

  private assertConnected(action: string): void {
    if (this._state !== 'connected') throw new Error(`Cannot ${action}: SQLite notification channel not connected`);
  }

  private deliverLater<N>(handlers: Set<(notification: N) => void | Promise<void>>, notification: N): void {
    setImmediate(() => {
      if (this._state !== 'connected') return;
      // Copy first: a handler may unsubscribe itself or others while we iterate.
      for (const handler of [...handlers]) {
        try {
          const result = handler(notification);
          if (result instanceof Promise) result.catch((error: unknown) => this.reportHandlerError(error));
        } catch (error) {
          this.reportHandlerError(error);
        }
      }
    });
  }

  private reportHandlerError(error: unknown): void {
    // An 'error' event without a listener would throw from a timer callback and crash the process.
    if (this.listenerCount('error') > 0) this.emit('error', error instanceof Error ? error : new Error(String(error)));
  }
}
