import type { MikroORM } from '@mikro-orm/sql';
import { isId } from '../../lib/ids.js';
import { decodeCursor, pageSize, toPage, type Page } from '../../lib/paging.js';
import { AuditEvent } from '../audit-events/audit-event.entity.js';
import type { AuditEventService } from '../audit-events/audit-event.service.js';
import type { AttemptFeed } from './attempt-feed.js';
import { Delivery, DeliveryAttempt, DeliveryEvent, DeliveryKind, DeliveryStatus } from './delivery.entity.js';

/** Event ids per `in (...)` query, well under SQLite's 32766 bound parameters. */
const EVENT_IDS_PER_QUERY = 10_000;

/** The GraphQL read side of deliveries: history, paging, batched loads, and the live attempt feed. */
export class DeliveryReadModel {
  constructor(
    private readonly orm: MikroORM,
    private readonly auditEvents: AuditEventService,
    /** Live attempts for the deliveryAttempts subscription (the pipeline publishes into it). */
    readonly feed: AttemptFeed,
  ) {}

  /** One delivery of the organization, or null. */
  async get(organizationId: string, id: string): Promise<Delivery | null> {
    if (!isId('dlv', id)) return null;
    return this.orm.em.fork().findOne(Delivery, { id, organization: organizationId });
  }

  /** deliveries: newest first, filtered by status and kind, cursor-paged like the audit log. */
  async list(
    organizationId: string,
    filter: { status?: DeliveryStatus | null; kind?: DeliveryKind | null } | null | undefined,
    first: number | null | undefined,
    after: string | null | undefined,
  ): Promise<Page<Delivery>> {
    const limit = pageSize(first);
    const where: Record<string, unknown> = { organization: organizationId };
    if (filter?.status) where.status = filter.status;
    if (filter?.kind) where.kind = filter.kind;
    if (after) {
      const cursor = decodeCursor(after, 'dlv');
      where.$or = [{ createdAt: { $lt: cursor.time } }, { createdAt: cursor.time, id: { $lt: cursor.id } }];
    }
    const rows = await this.orm.em.fork().find(Delivery, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: limit + 1 });
    return toPage(rows, limit, (d) => d.createdAt);
  }

  /** Deliveries of one organization by id, in one query (for the per-operation loader). */
  async getMany(organizationId: string, ids: readonly string[]): Promise<Map<string, Delivery>> {
    const rows = await this.orm.em.fork().find(Delivery, { id: { $in: [...new Set(ids)] }, organization: organizationId });
    return new Map(rows.map((delivery) => [delivery.id, delivery]));
  }

  /** One attempt by id, any organization: the live feed reads back attempts too large for a notification. */
  async attemptById(id: string): Promise<DeliveryAttempt | null> {
    return this.orm.em.fork().findOne(DeliveryAttempt, { id });
  }

  /** The attempts of deliveries of one organization, newest first each, in one query. */
  async attemptsOfMany(organizationId: string, deliveryIds: readonly string[]): Promise<Map<string, DeliveryAttempt[]>> {
    const rows = await this.orm.em
      .fork()
      .find(DeliveryAttempt, { delivery: { $in: [...new Set(deliveryIds)] }, organization: organizationId }, { orderBy: { startedAt: 'desc', id: 'desc' } });
    const byDelivery = new Map<string, DeliveryAttempt[]>();
    for (const attempt of rows) {
      const list = byDelivery.get(attempt.delivery);
      if (list) list.push(attempt);
      else byDelivery.set(attempt.delivery, [attempt]);
    }
    return byDelivery;
  }

  /** The events a delivery carries, as AuditEvent objects (samples for TEST deliveries). */
  async events(delivery: Delivery): Promise<AuditEvent[]> {
    return (await this.eventsOfMany(delivery.organization, [delivery])).get(delivery.id) ?? [];
  }

  /**
   * The events of deliveries of one organization, in batch order each: two queries (one more per
   * EVENT_IDS_PER_QUERY events, which keeps SQLite under its bound-parameter limit).
   */
  async eventsOfMany(organizationId: string, deliveries: readonly Delivery[]): Promise<Map<string, AuditEvent[]>> {
    const byDelivery = new Map<string, AuditEvent[]>();
    for (const delivery of deliveries) byDelivery.set(delivery.id, delivery.kind === DeliveryKind.TEST ? sampleAuditEvents(delivery) : []);
    const stored = [...new Set(deliveries.filter((d) => d.kind !== DeliveryKind.TEST).map((d) => d.id))];
    if (stored.length === 0) return byDelivery;
    const links = await this.orm.em.fork().find(DeliveryEvent, { delivery: { $in: stored } }, { orderBy: { delivery: 'asc', position: 'asc' } });
    const eventIds = [...new Set(links.map((l) => l.event))];
    const events = new Map<string, AuditEvent>();
    for (let start = 0; start < eventIds.length; start += EVENT_IDS_PER_QUERY) {
      for (const event of await this.auditEvents.getMany(organizationId, eventIds.slice(start, start + EVENT_IDS_PER_QUERY))) events.set(event.id, event);
    }
    for (const link of links) {
      const event = events.get(link.event);
      if (event) byDelivery.get(link.delivery)?.push(event);
    }
    return byDelivery;
  }

}

/** A TEST delivery's sample activities shaped as AuditEvent objects. */
function sampleAuditEvents(delivery: Delivery): AuditEvent[] {
  return (delivery.sampleEvents ?? []).map((sample) =>
    Object.assign(new AuditEvent(), {
      ...sample,
      organization: delivery.organization,
      time: new Date(sample.time),
      actorId: sample.actor.id,
      idempotencyKey: null,
      receivedAt: delivery.createdAt,
    }),
  );
}
