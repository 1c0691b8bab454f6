import type { MikroORM } from '@mikro-orm/sql';
import type { Config } from '../config.js';
import { InProcessNotifications, type Notifications } from '../db/notifications.js';
import type { Logger } from '../lib/logger.js';
import { SecretBox } from '../lib/secret-box.js';
import { noMetrics, type ServiceMetrics } from '../metrics/metrics.js';
import { ApiTokenService } from './api-tokens/api-token.service.js';
import { AuditEventRetention } from './audit-events/audit-event-retention.js';
import { AuditEventService } from './audit-events/audit-event.service.js';
import { AttemptFeed } from './deliveries/attempt-feed.js';
import { DeliveryOperations } from './deliveries/delivery-operations.js';
import { DeliveryPipeline } from './deliveries/delivery-pipeline.js';
import { DeliveryReadModel } from './deliveries/delivery-read-model.js';
import { DeliveryRecovery } from './deliveries/delivery-recovery.js';
import { DeliveryRetention } from './deliveries/delivery-retention.js';
import { noDeliverySignals, type DeliverySignals } from './deliveries/delivery-signals.js';
import { OrganizationService } from './organizations/organization.service.js';
import { OutboxService } from './outbox/outbox.service.js';
import { WebhookDisabling } from './webhooks/webhook-disabling.js';
import { WebhookService, type DestinationPolicy } from './webhooks/webhook.service.js';

/** The application's services, built once per process and shared by GraphQL, jobs and the CLI. */
export interface Services {
  organizations: OrganizationService;
  apiTokens: ApiTokenService;
  auditEvents: AuditEventService;
  webhooks: WebhookService;
  /** The GraphQL read side of deliveries, with the live attempt feed. */
  deliveries: DeliveryReadModel;
  /** Test registrations and redeliveries. */
  deliveryOperations: DeliveryOperations;
  /** recoverDeliveries: FAILED deliveries since a time, sent again. */
  deliveryRecovery: DeliveryRecovery;
  /** The worker side: batches and attempts (used by the job layer). */
  deliveryPipeline: DeliveryPipeline;
  /** Prunes finished deliveries past their retention (used by the prune job). */
  deliveryRetention: DeliveryRetention;
  /** Prunes audit events past their retention (used by the prune job). */
  auditEventRetention: AuditEventRetention;
  /** The job layer plugs in here at start-up; until then signals go nowhere. */
  setDeliverySignals(signals: DeliverySignals): void;
}

/** Wires services together; the only place that knows their constructors. */
export function createServices(
  orm: MikroORM,
  config: Config,
  overrides: { destinationPolicy?: Partial<DestinationPolicy>; metrics?: ServiceMetrics; notifications?: Notifications; logger?: Logger } = {},
): Services {
  const metrics = overrides.metrics ?? noMetrics;
  let signals: DeliverySignals = noDeliverySignals;
  const currentSignals = () => signals;
  const secrets = new SecretBox(config.secretKey, config.previousSecretKeys);
  const outbox = new OutboxService(orm);
  const auditEvents = new AuditEventService(orm, outbox, currentSignals, metrics);
  const apiTokens = new ApiTokenService(orm, auditEvents);
  const organizations = new OrganizationService(orm, apiTokens);
  let deliveries: DeliveryReadModel | null = null;
  const feed = new AttemptFeed(
    overrides.notifications ?? new InProcessNotifications(),
    (attemptId) => deliveries!.attemptById(attemptId),
    (error, context) => overrides.logger?.warn({ err: error, context }, 'live attempt notification failed; the attempt is stored'),
  );
  let pipeline: DeliveryPipeline | null = null;
  const webhooks = new WebhookService(
    orm,
    secrets,
    auditEvents,
    { allowHttp: config.allowHttp, allowPrivateDestinations: config.allowPrivateDestinations, ...overrides.destinationPolicy },
    () => pipeline!,
    new WebhookDisabling(orm, auditEvents, outbox, { disableAfterMs: config.delivery.disableAfterMs, disabledBufferMs: config.delivery.disabledBufferMs }, metrics),
  );
  deliveries = new DeliveryReadModel(orm, auditEvents, config.delivery.testDelayMs, feed);
  pipeline = new DeliveryPipeline(orm, config.delivery, webhooks, outbox, deliveries, feed, currentSignals, metrics);
  return {
    organizations,
    apiTokens,
    auditEvents,
    webhooks,
    deliveries,
    deliveryOperations: new DeliveryOperations(orm, config.delivery, webhooks, auditEvents, currentSignals),
    deliveryRecovery: new DeliveryRecovery(orm, config.delivery, webhooks, auditEvents, currentSignals, overrides.logger ?? null),
    deliveryPipeline: pipeline,
    deliveryRetention: new DeliveryRetention(orm),
    auditEventRetention: new AuditEventRetention(orm),
    setDeliverySignals(next) {
      signals = next;
    },
  };
}
