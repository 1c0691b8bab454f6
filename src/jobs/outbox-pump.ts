import type { DeliveryConfig } from '../config.js';
import type { Logger } from '../lib/logger.js';
import type { DeliveryPipeline } from '../modules/deliveries/delivery-pipeline.js';

/** Saves the job of a delivery the pump created (the runtime's deliveryScheduled). */
export type ScheduleDelivery = (deliveryId: string, runAt: Date, webhookId: string) => Promise<void>;

/**
 * Turns a webhook's outbox into deliveries: takes waiting events into deliveries while fewer than
 * `webhookConcurrency` of the webhook's deliveries await their first attempt, so an idle webhook gets
 * each event at once and a busy one gets larger batches (up to maxBatchSize) as events pile up behind
 * the requests in flight. One pump per webhook at a time; a call meanwhile makes it go round again.
 */
export class OutboxPump {
  private readonly pumping = new Set<string>();
  private readonly pumpAgain = new Set<string>();

  constructor(
    private readonly deliveries: DeliveryPipeline,
    private readonly config: DeliveryConfig,
    private readonly schedule: ScheduleDelivery,
    private readonly logger: Logger,
    /** True once the process is stopping: no new delivery is taken. */
    private readonly stopping: () => boolean,
  ) {}

  /** Pumps `webhookId`'s outbox now (or once more after the pump already running for it). Never throws. */
  async pump(webhookId: string): Promise<void> {
    if (this.stopping()) return;
    if (this.pumping.has(webhookId)) {
      this.pumpAgain.add(webhookId);
      return;
    }
    this.pumping.add(webhookId);
    try {
      do {
        this.pumpAgain.delete(webhookId);
        let awaiting = await this.deliveries.countAwaitingFirstAttempt(webhookId);
        while (awaiting < this.config.webhookConcurrency && !this.stopping()) {
          const delivery = await this.deliveries.takeBatch(webhookId);
          if (!delivery) break;
          await this.schedule(delivery.id, delivery.runAt, webhookId);
          awaiting++;
          if (delivery.eventCount < this.config.maxBatchSize) break; // the outbox is empty
        }
      } while (this.pumpAgain.has(webhookId) && !this.stopping());
    } catch (error) {
      this.logger.error({ err: error, webhookId }, 'could not take queued events into a delivery; the sweep retries');
    } finally {
      this.pumping.delete(webhookId);
    }
  }

  /** Pumps every webhook with waiting events (a lost notification, another process on SQLite) and drops events past AUDITHOOK_DISABLED_BUFFER. Never throws. */
  async sweep(): Promise<void> {
    try {
      for (const webhookId of await this.deliveries.webhooksWithPendingEvents()) void this.pump(webhookId);
    } catch (error) {
      this.logger.error({ err: error }, 'outbox sweep failed');
    }
    try {
      const dropped = await this.deliveries.dropExpiredBufferedEvents();
      if (dropped > 0) this.logger.warn({ events: dropped }, 'dropped events that waited longer than AUDITHOOK_DISABLED_BUFFER for a disabled webhook');
    } catch (error) {
      this.logger.error({ err: error }, 'dropping expired events of disabled webhooks failed; the next sweep retries');
    }
  }
}
