import { EventEmitter, on } from 'node:events';
import type { DeliveryAttempt } from './delivery.entity.js';

/** In-process fan-out of recorded attempts to live subscribers, keyed by organization. */
export class AttemptFeed {
  private readonly emitter = new EventEmitter({ captureRejections: false });

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  /** Called once an attempt is committed, so subscribers never see an attempt that was rolled back. */
  publish(attempt: DeliveryAttempt): void {
    this.emitter.emit(attempt.organization, attempt);
  }

  /** Live subscriptions of one organization: a subscriber is counted once it will receive what is published next. */
  listenerCount(organizationId: string): number {
    return this.emitter.listenerCount(organizationId);
  }

  /** Attempts of one organization from now on; ending the iteration removes the listener. */
  async *subscribe(organizationId: string, signal?: AbortSignal): AsyncGenerator<DeliveryAttempt> {
    for await (const [attempt] of on(this.emitter, organizationId, signal ? { signal } : {})) {
      yield attempt as DeliveryAttempt;
    }
  }
}
