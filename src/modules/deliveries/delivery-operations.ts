import type { MikroORM } from '@mikro-orm/sql';
import type { DeliveryConfig } from '../../config.js';
import { AppError, badInput } from '../../lib/app-error.js';
import { isId, newId } from '../../lib/ids.js';
import type { Principal } from '../auth.js';
import type { WebhookService } from '../webhooks/webhook.service.js';
import type { DeliverySignals } from './delivery-signals.js';
import { maxAttemptsOf } from './delivery-pipeline.js';
import { Delivery, DeliveryKind, DeliveryStatus, type SampleEventData } from './delivery.entity.js';

const FINISHED = [DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED];

/** Admin-initiated deliveries: the test registration's sample activities, and redelivery of a finished one. */
export class DeliveryOperations {
  constructor(
    private readonly orm: MikroORM,
    private readonly config: DeliveryConfig,
    private readonly webhooks: WebhookService,
    private readonly signals: () => DeliverySignals,
  ) {}

  /** testWebhook: a TEST delivery of sample activities after the test delay; a waiting one is reused. */
  async createTest(principal: Principal): Promise<Delivery> {
    const result = await this.orm.em.fork().transactional(async (em) => {
      const webhook = await this.webhooks.get(principal.organizationId, em);
      if (!webhook) throw new AppError('NOT_FOUND', 'this organization has no webhook registered');
      const waiting = await em.findOne(
        Delivery,
        { webhook: webhook.id, kind: DeliveryKind.TEST, status: DeliveryStatus.PENDING, attemptCount: 0 },
        { orderBy: { createdAt: 'desc' } },
      );
      if (waiting) return { delivery: waiting, created: false };
      const now = new Date();
      const delivery = em.create(Delivery, {
        organization: principal.organizationId,
        webhook: webhook.id,
        kind: DeliveryKind.TEST,
        maxAttempts: maxAttemptsOf(this.config),
        createdAt: now,
        nextAttemptAt: new Date(now.getTime() + this.config.testDelayMs),
        sampleEvents: sampleActivities(principal, now),
      });
      delivery.eventCount = delivery.sampleEvents!.length;
      await em.flush();
      return { delivery, created: true };
    });
    if (result.created) await this.signals().deliveryScheduled(result.delivery.id, result.delivery.nextAttemptAt!, result.delivery.webhook);
    return result.delivery;
  }

  /** redeliver: the same id and events again, with a fresh set of attempts, to the current webhook. */
  async redeliver(principal: Principal, deliveryId: string): Promise<Delivery> {
    if (!isId('dlv', deliveryId)) throw new AppError('NOT_FOUND', 'no delivery with this id in this organization', 'deliveryId');
    const delivery = await this.orm.em.fork().transactional(async (em) => {
      const delivery = await em.findOne(Delivery, { id: deliveryId, organization: principal.organizationId });
      if (!delivery) throw new AppError('NOT_FOUND', `no delivery ${deliveryId} in this organization`, 'deliveryId');
      if (!FINISHED.includes(delivery.status)) throw badInput('deliveryId', `delivery ${deliveryId} is still ${delivery.status}; only finished deliveries can be redelivered`);
      const webhook = await this.webhooks.get(principal.organizationId, em);
      if (!webhook) throw new AppError('NOT_FOUND', 'this organization has no webhook registered');
      const now = new Date();
      delivery.webhook = webhook.id;
      delivery.status = DeliveryStatus.PENDING;
      delivery.attemptCount = 0;
      delivery.maxAttempts = maxAttemptsOf(this.config);
      delivery.nextAttemptAt = now;
      delivery.completedAt = null;
      await em.flush();
      return delivery;
    });
    await this.signals().deliveryScheduled(delivery.id, delivery.nextAttemptAt!, delivery.webhook);
    return delivery;
  }

}

/** Three plausible activities so an admin sees on their receiver what real deliveries look like. */
function sampleActivities(principal: Principal, now: Date): SampleEventData[] {
  const container = [{ id: principal.organizationId, type: 'organization' }];
  const at = (offsetMs: number) => new Date(now.getTime() - offsetMs).toISOString();
  return [
    {
      id: newId('evt', now.getTime() - 120_000),
      time: at(120_000),
      action: 'user_logged_in',
      actor: { id: 'usr_sample_ada', type: 'user', name: 'Ada Lovelace', email: 'ada@example.com' },
      context: [],
      container,
      location: { ip: '203.0.113.7', countryName: 'United Kingdom', city: 'London' },
      message: 'Sample activity: Ada Lovelace logged in',
    },
    {
      id: newId('evt', now.getTime() - 60_000),
      time: at(60_000),
      action: 'user_added_to_group',
      actor: { id: 'usr_sample_ada', type: 'user', name: 'Ada Lovelace', email: 'ada@example.com' },
      context: [
        { id: 'usr_sample_alan', type: 'user', name: 'Alan Turing' },
        { id: 'grp_sample_admins', type: 'group', name: 'site-admins' },
      ],
      container,
      location: { ip: '203.0.113.7', countryName: 'United Kingdom', city: 'London' },
      message: 'Sample activity: Alan Turing added to site-admins',
    },
    {
      id: newId('evt', now.getTime()),
      time: at(0),
      action: 'audit_log_webhook_tested',
      actor: { id: principal.tokenId, type: 'api_token', ...(principal.label ? { name: principal.label } : {}) },
      context: [],
      container,
      location: null,
      message: 'Sample activity: test registration of the audit-log webhook',
    },
  ];
}
