import type { EventQueueSignals } from '../audit-events/audit-event.service.js';

/**
 * How modules tell the job layer that work is waiting, without importing it (dependencies point
 * from jobs to modules, never back). The composition root wires an implementation in.
 */
export interface DeliverySignals extends EventQueueSignals {
  /** A delivery to `webhookId` must be attempted at `runAt` (a new, test or redelivered one); it counts against that webhook's request slots. */
  deliveryScheduled(deliveryId: string, runAt: Date, webhookId: string): Promise<void>;
  /** An admin asked for a RETRYING delivery's next attempt now (retryDelivery), at `requestedAt`. */
  retryRequested(deliveryId: string, webhookId: string, requestedAt: Date): Promise<void>;
  /** The webhook's unfinished deliveries were cancelled; drop their jobs. */
  deliveriesCancelled(deliveryIds: string[]): Promise<void>;
  /** Deliveries held while their webhook was DISABLED: it is ACTIVE again, so attempt them now (whatever their job's time). */
  deliveriesResumed(deliveryIds: string[], webhookId: string): Promise<void>;
}

/** Signals that go nowhere: for the CLI and for processes that do not deliver. */
export const noDeliverySignals: DeliverySignals = {
  eventsQueued() {},
  async deliveryScheduled() {},
  async retryRequested() {},
  async deliveriesCancelled() {},
  async deliveriesResumed() {},
};
