import type { MikroORM } from '@mikro-orm/sql';
import { dateOf, sqlOf } from '../../db/kysely.js';
import { buildPayload, type PayloadEvent } from '../../delivery/payload.js';
import { isId } from '../../lib/ids.js';
import { atOrNewerThan, decodeCursor, olderThan, pageSize, toPage, type Page } from '../../lib/paging.js';
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
    /** How long after its creation a TEST delivery's first attempt is due. */
    private readonly testDelayMs: number,
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
    const cursor = after ? decodeCursor(after, 'dlv') : null;
    const em = this.orm.em.fork();
    const rows = await em.find(Delivery, cursor ? { ...where, ...olderThan(cursor, 'createdAt') } : where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: limit + 1 });
    const hasPrevious = cursor !== null && (await em.findOne(Delivery, { ...where, ...atOrNewerThan(cursor, 'createdAt') }, { fields: ['id'] })) !== null;
    return toPage(rows, limit, (d) => d.createdAt, hasPrevious);
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

  /**
   * When each RETRYING delivery's next attempt is due: the plan recorded by the attempt that scheduled
   * it (the newest attempt that will retry). One query; history, not a copy of the job's schedule.
   */
  async plannedAttempts(deliveryIds: readonly string[]): Promise<Map<string, PlannedAttempt>> {
    const plans = new Map<string, PlannedAttempt>();
    if (deliveryIds.length === 0) return plans;
    const rows = await sqlOf(this.orm.em.fork())
      .selectFrom('delivery_attempts')
      .select(['delivery_id', 'started_at', 'next_attempt_at'])
      .where('delivery_id', 'in', [...new Set(deliveryIds)])
      .where('will_retry', '=', true)
      .orderBy('started_at', 'desc')
      .execute();
    for (const row of rows) {
      if (plans.has(row.delivery_id) || row.next_attempt_at === null) continue;
      plans.set(row.delivery_id, { at: dateOf(row.next_attempt_at), plannedByAttemptStartedAt: dateOf(row.started_at) });
    }
    return plans;
  }

  /**
   * When each delivery's next attempt is due, derived from history (Delivery.nextAttemptAt, and the job
   * layer's recovery): a RETRYING delivery's plan, a new TEST delivery's creation plus the test delay,
   * any other PENDING one's creation (due at once), else null. One query.
   */
  async nextAttemptsOfMany(deliveries: readonly DueFacts[]): Promise<Map<string, Date | null>> {
    const plans = await this.plannedAttempts(deliveries.filter((d) => d.status === DeliveryStatus.RETRYING).map((d) => d.id));
    const next = new Map<string, Date | null>();
    for (const d of deliveries) {
      if (d.status === DeliveryStatus.RETRYING) next.set(d.id, plans.get(d.id)?.at ?? null);
      else if (d.status !== DeliveryStatus.PENDING) next.set(d.id, null);
      else if (d.kind === DeliveryKind.TEST && d.attemptCount === 0) next.set(d.id, new Date(d.createdAt.getTime() + this.testDelayMs));
      else next.set(d.id, d.createdAt);
    }
    return next;
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

/** What the due time of a delivery's next attempt is derived from. */
export type DueFacts = Pick<Delivery, 'id' | 'status' | 'kind' | 'attemptCount' | 'createdAt'>;

/** The retry an attempt scheduled: when, and when that attempt started (to tell a fresh run from a stale one). */
export interface PlannedAttempt {
  at: Date;
  plannedByAttemptStartedAt: Date;
}

/**
 * The request body of a delivery, rebuilt from what it is made of (its id, organization, creation
 * time and kind, and its events in batch order): the pipeline builds it the same way on every
 * attempt, so it equals, byte for byte, what the receiver got and need not be stored.
 */
export function deliveryPayload(delivery: Delivery, events: readonly AuditEvent[]): string {
  return payloadOf(delivery, events.map(payloadEventOf));
}

/** The request body of a delivery with these events: the one envelope the pipeline sends and Delivery.payload shows. */
export function payloadOf(delivery: Delivery, events: PayloadEvent[]): string {
  return buildPayload({ deliveryId: delivery.id, organizationId: delivery.organization, createdAt: delivery.createdAt, test: delivery.kind === DeliveryKind.TEST }, events);
}

/** An AuditEvent as buildPayload takes it (the pipeline's TEST bodies and Delivery.payload alike). */
export function payloadEventOf(event: AuditEvent): PayloadEvent {
  return {
    id: event.id,
    time: event.time,
    action: event.action,
    actor: { ...event.actor },
    context: event.context.map((o) => ({ ...o })),
    container: event.container.map((o) => ({ ...o })),
    location: event.location ? { ...event.location } : null,
    message: event.message,
  };
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
