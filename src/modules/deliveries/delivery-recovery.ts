import type { MikroORM } from '@mikro-orm/sql';
import type { DeliveryConfig } from '../../config.js';
import { sqlOf } from '../../db/kysely.js';
import { AppError, badInput } from '../../lib/app-error.js';
import type { Logger } from '../../lib/logger.js';
import { redactUrl } from '../../lib/redact-url.js';
import type { AuditEventService } from '../audit-events/audit-event.service.js';
import type { Principal } from '../auth.js';
import type { WebhookService } from '../webhooks/webhook.service.js';
import { maxAttemptsOf } from './delivery-pipeline.js';
import type { DeliverySignals } from './delivery-signals.js';
import { DeliveryStatus } from './delivery.entity.js';

/** How many times the background scheduling of one recovered delivery is tried before it is left to start-up recovery. */
const SCHEDULE_TRIES = 3;

/**
 * recoverDeliveries: after a receiver outage, every FAILED delivery since a point in time goes round
 * again, exactly as `redeliver` sends one (same id and events, a fresh set of attempts, to the
 * current webhook, through the normal deliver job and its per-webhook request cap), in one UPDATE.
 */
export class DeliveryRecovery {
  constructor(
    private readonly orm: MikroORM,
    private readonly config: DeliveryConfig,
    private readonly webhooks: WebhookService,
    private readonly auditEvents: AuditEventService,
    private readonly signals: () => DeliverySignals,
    private readonly logger: Logger | null = null,
  ) {}

  /**
   * Turns every FAILED delivery of the organization created at or after `since` back to PENDING
   * (one UPDATE ... RETURNING, with the audit event in the same transaction) and answers how many at
   * once; their jobs are scheduled in the background. A job lost there (e.g. to a crash) is found
   * again at the next start, as for any unfinished delivery.
   */
  async recover(principal: Principal, since: Date, now: Date = new Date()): Promise<number> {
    if (!(since instanceof Date) || Number.isNaN(since.getTime())) throw badInput('since', 'since must be an ISO 8601 date-time, e.g. 2026-11-20T10:00:00Z');
    if (since.getTime() > now.getTime()) throw badInput('since', `since (${since.toISOString()}) must not be in the future`);
    const { webhookId, deliveryIds } = await this.orm.em.fork().transactional(async (em) => {
      const webhook = await this.webhooks.get(principal.organizationId, em);
      if (!webhook) throw new AppError('NOT_FOUND', 'this organization has no webhook registered');
      const recovered = await sqlOf(em)
        .updateTable('deliveries')
        .set({ webhook_id: webhook.id, status: DeliveryStatus.PENDING, attempt_count: 0, max_attempts: maxAttemptsOf(this.config), completed_at: null })
        .where('organization_id', '=', principal.organizationId)
        .where('status', '=', DeliveryStatus.FAILED)
        .where('created_at', '>=', since)
        .returning('id')
        .execute();
      await this.auditEvents.recordSystemEvent(em, principal, {
        action: 'audit_log_deliveries_recovered',
        context: [{ id: webhook.id, type: 'webhook', name: redactUrl(webhook.url) }],
        message: `${recovered.length} failed ${recovered.length === 1 ? 'delivery' : 'deliveries'} created since ${since.toISOString()} sent again`,
      });
      return { webhookId: webhook.id, deliveryIds: recovered.map((row) => row.id) };
    });
    if (deliveryIds.length > 0) void this.schedule(deliveryIds, webhookId);
    return deliveryIds.length;
  }

  /** The background half: one deliver job per recovered delivery, due now; the webhook's request cap paces them. */
  private async schedule(deliveryIds: string[], webhookId: string): Promise<void> {
    const signals = this.signals();
    let unscheduled = 0;
    for (const deliveryId of deliveryIds) {
      for (let attempt = 1; attempt <= SCHEDULE_TRIES; attempt++) {
        try {
          await signals.deliveryScheduled(deliveryId, new Date(), webhookId);
          break;
        } catch (error) {
          if (attempt === SCHEDULE_TRIES) {
            unscheduled++;
            this.logger?.warn({ err: error, deliveryId, webhookId }, 'could not schedule a recovered delivery; it is resumed at the next start');
          }
        }
      }
    }
    if (unscheduled === 0) this.logger?.info({ webhookId, deliveries: deliveryIds.length }, 'recovered deliveries scheduled');
  }
}
