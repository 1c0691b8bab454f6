import { OptionalProps } from '@mikro-orm/core';
import { Entity, Index, ManyToOne, Property } from '@mikro-orm/decorators/legacy';
import { AuditEvent } from '../audit-events/audit-event.entity.js';
import { Webhook } from '../webhooks/webhook.entity.js';

/** The outbox: an event recorded while a webhook is active, not yet taken into a delivery. Written only by OutboxService. */
@Entity({ tableName: 'pending_events' })
@Index({ name: 'pending_events_webhook_idx', properties: ['webhook', 'enqueuedAt'] })
export class PendingEvent {
  [OptionalProps]?: 'enqueuedAt';

  @ManyToOne({ entity: () => AuditEvent, mapToPk: true, primary: true, deleteRule: 'cascade', index: false })
  event!: string;

  @ManyToOne({ entity: () => Webhook, mapToPk: true, deleteRule: 'cascade', index: false })
  webhook!: string;

  @Property({ type: 'datetime' })
  enqueuedAt: Date = new Date();
}
