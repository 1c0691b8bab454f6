import { ApiToken } from '../modules/api-tokens/api-token.entity.js';
import { AuditEvent } from '../modules/audit-events/audit-event.entity.js';
import { Delivery, DeliveryAttempt, DeliveryEvent } from '../modules/deliveries/delivery.entity.js';
import { PendingEvent } from '../modules/outbox/pending-event.entity.js';
import { Organization } from '../modules/organizations/organization.entity.js';
import { Webhook } from '../modules/webhooks/webhook.entity.js';

/** Listed explicitly (no folder scan) so the same list works compiled, under vitest, and in the CLI. */
export const entities = [Organization, ApiToken, AuditEvent, Webhook, Delivery, DeliveryEvent, PendingEvent, DeliveryAttempt];
