import type { MikroORM } from '@mikro-orm/sqlite';
import type { Config } from '../config.js';
import { SecretBox } from '../lib/secret-box.js';
import { ApiTokenService } from './api-tokens/api-token.service.js';
import { AuditEventService } from './audit-events/audit-event.service.js';
import { DeliveryService } from './deliveries/delivery.service.js';
import { noDeliverySignals, type DeliverySignals } from './deliveries/delivery-signals.js';
import { OrganizationService } from './organizations/organization.service.js';
import { WebhookService, type DestinationPolicy } from './webhooks/webhook.service.js';

/** The application's services, built once per process and shared by GraphQL, jobs and the CLI. */
export interface Services {
  organizations: OrganizationService;
  apiTokens: ApiTokenService;
  auditEvents: AuditEventService;
  webhooks: WebhookService;
  deliveries: DeliveryService;
  /** The job layer plugs in here at start-up; until then signals go nowhere. */
  setDeliverySignals(signals: DeliverySignals): void;
}

/** Wires services together; the only place that knows their constructors. */
export function createServices(orm: MikroORM, config: Config, overrides: { destinationPolicy?: Partial<DestinationPolicy> } = {}): Services {
  let signals: DeliverySignals = noDeliverySignals;
  const currentSignals = () => signals;
  const secrets = new SecretBox(config.secretKey, config.previousSecretKeys);
  const auditEvents = new AuditEventService(orm, currentSignals);
  const apiTokens = new ApiTokenService(orm, auditEvents);
  const organizations = new OrganizationService(orm, apiTokens);
  const webhooks = new WebhookService(
    orm,
    secrets,
    auditEvents,
    { allowHttp: config.allowHttp, allowPrivateDestinations: config.allowPrivateDestinations, ...overrides.destinationPolicy },
    currentSignals,
  );
  const deliveries = new DeliveryService(orm, config.delivery, webhooks, auditEvents, currentSignals);
  return {
    organizations,
    apiTokens,
    auditEvents,
    webhooks,
    deliveries,
    setDeliverySignals(next) {
      signals = next;
    },
  };
}
