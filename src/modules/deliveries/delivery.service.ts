import type { MikroORM } from '@mikro-orm/sqlite';
import type { DeliveryConfig } from '../../config.js';
import type { SendOutcome, WebhookRequest } from '../../delivery/http-client.js';
import { buildPayload, type PayloadEvent } from '../../delivery/payload.js';
import { retryDelayMs } from '../../delivery/retry-policy.js';
import { signatureHeaders } from '../../delivery/signing.js';
import { AppError, badInput } from '../../lib/app-error.js';
import { isId, newId } from '../../lib/ids.js';
import { PACKAGE_VERSION } from '../../lib/package-info.js';
import { redactUrl } from '../../lib/redact-url.js';
import { AuditEvent } from '../audit-events/audit-event.entity.js';
import type { AuditEventService, Page } from '../audit-events/audit-event.service.js';
import { decodeCursor, pageSize, toPage } from '../audit-events/audit-event.service.js';
import type { Principal } from '../auth.js';
import type { WebhookService } from '../webhooks/webhook.service.js';
import { Webhook } from '../webhooks/webhook.entity.js';
import { AttemptFeed } from './attempt-feed.js';
import type { DeliverySignals } from './delivery-signals.js';
import {
  AttemptOutcome,
  Delivery,
  DeliveryAttempt,
  DeliveryEvent,
  DeliveryKind,
  DeliveryStatus,
  PendingEvent,
  type SampleEventData,
} from './delivery.entity.js';

/** The package version sent as `user-agent: audithook/<version>`. */
export const USER_AGENT = `audithook/${PACKAGE_VERSION}`;

/** Why the attempt that just ran failed, for the job layer's log line; the URL is already redacted. */
export interface AttemptFailure {
  error: string;
  statusCode: number | null;
  webhookId: string;
  redactedUrl: string;
  /** Set for SECRET_UNREADABLE: which stored secret and why (a key id at most, never a key or a value). */
  detail?: string;
}

/** What one attempt came to, as a value: done, or when to try again. */
export type AttemptResult =
  | { ok: true }
  | { ok: false; retryAt: Date; failure?: AttemptFailure }
  | { ok: false; retryAt: null; reason: 'exhausted' | 'finished' | 'cancelled' | 'missing'; failure?: AttemptFailure };

/** Sends one request; the job layer passes its process-wide HTTP client in. */
export type SendRequest = (request: WebhookRequest) => Promise<SendOutcome>;

const UNFINISHED = [DeliveryStatus.PENDING, DeliveryStatus.RETRYING];
const FINISHED = [DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED];
/** Event ids per `in (...)` query, well under SQLite's 32766 bound parameters. */
const EVENT_IDS_PER_QUERY = 10_000;

/** Turns queued events into deliveries, performs and records attempts, and reads delivery history. */
export class DeliveryService {
  /** Live attempts for the deliveryAttempts subscription. */
  readonly feed = new AttemptFeed();

  constructor(
    private readonly orm: MikroORM,
    private readonly config: DeliveryConfig,
    private readonly webhooks: WebhookService,
    private readonly auditEvents: AuditEventService,
    private readonly signals: () => DeliverySignals,
  ) {}

  /** Attempts per delivery: the first one and one per configured retry delay. */
  get maxAttempts(): number {
    return this.config.retryDelaysMs.length + 1;
  }

  /**
   * Takes up to maxBatchSize waiting events of a webhook into one new delivery, atomically (the
   * outbox rows go in the same transaction), so each event lands in exactly one delivery.
   */
  async claimPending(webhookId: string): Promise<Delivery | null> {
    // Look first, outside a transaction: the common "nothing waiting" answer costs one indexed query.
    const waiting = await this.orm.em.fork().findOne(PendingEvent, { webhook: webhookId }, { fields: ['event'] });
    if (!waiting) return null;
    return this.orm.em.fork().transactional(async (em) => {
      // Read again under the write lock (transactions begin IMMEDIATE): another process sharing the
      // file may have claimed the rows seen above, and none can claim these until this commits.
      const pending = await em.find(PendingEvent, { webhook: webhookId }, { orderBy: { enqueuedAt: 'asc', event: 'asc' }, limit: this.config.maxBatchSize, fields: ['event'] });
      if (pending.length === 0) return null;
      const eventIds = pending.map((p) => p.event);
      const deleted = await em.nativeDelete(PendingEvent, { event: { $in: eventIds }, webhook: webhookId });
      if (deleted !== eventIds.length) throw new Error('outbox rows changed inside a write transaction');
      const webhook = await em.findOne(Webhook, { id: webhookId, removedAt: null }, { fields: ['id', 'organization'] });
      if (!webhook) return null;
      const now = new Date();
      const delivery = em.create(Delivery, {
        organization: webhook.organization,
        webhook: webhookId,
        kind: DeliveryKind.EVENTS,
        eventCount: eventIds.length,
        maxAttempts: this.maxAttempts,
        nextAttemptAt: now,
        createdAt: now,
      });
      eventIds.forEach((eventId, position) => em.create(DeliveryEvent, { delivery: delivery.id, event: eventId, position }));
      await em.flush();
      return delivery;
    });
  }

  /** Webhooks that have events waiting in the outbox (for start-up recovery and polling). */
  async webhooksWithPendingEvents(): Promise<string[]> {
    const rows = await this.orm.em.fork().getConnection().execute<{ webhook_id: string }[]>('select distinct webhook_id from pending_events');
    return rows.map((r) => r.webhook_id);
  }

  /** Deliveries that still owe an attempt, with when and which attempt (for start-up recovery). */
  async unfinished(): Promise<{ id: string; webhookId: string; attemptNumber: number; runAt: Date }[]> {
    const rows = await this.orm.em.fork().find(Delivery, { status: { $in: UNFINISHED } }, { fields: ['id', 'webhook', 'attemptCount', 'nextAttemptAt', 'createdAt'] });
    return rows.map((d) => ({ id: d.id, webhookId: d.webhook, attemptNumber: d.attemptCount + 1, runAt: d.nextAttemptAt ?? d.createdAt }));
  }

  /** How many of a webhook's deliveries are waiting for their first attempt (to hold back new batches). */
  async countAwaitingFirstAttempt(webhookId: string): Promise<number> {
    return this.orm.em.fork().count(Delivery, { webhook: webhookId, kind: DeliveryKind.EVENTS, status: DeliveryStatus.PENDING, attemptCount: 0 });
  }

  /**
   * Performs attempt `attemptNumber` of a delivery: signs with the webhook's current secrets, sends,
   * and records the attempt and the delivery's new state in one transaction. Idempotent per
   * attempt number: when that attempt is already recorded (a job re-run after a crash), nothing is
   * sent again and the recorded schedule is returned.
   */
  async attempt(deliveryId: string, attemptNumber: number, send: SendRequest): Promise<AttemptResult> {
    const em = this.orm.em.fork();
    const delivery = await em.findOne(Delivery, { id: deliveryId });
    if (!delivery) return { ok: false, retryAt: null, reason: 'missing' };
    if (delivery.status === DeliveryStatus.CANCELLED) return { ok: false, retryAt: null, reason: 'cancelled' };
    if (!UNFINISHED.includes(delivery.status)) return { ok: false, retryAt: null, reason: 'finished' };
    if (delivery.attemptCount >= attemptNumber) {
      return delivery.nextAttemptAt ? { ok: false, retryAt: delivery.nextAttemptAt } : { ok: false, retryAt: null, reason: 'finished' };
    }
    const webhook = await em.findOne(Webhook, { id: delivery.webhook });
    if (!webhook || webhook.removedAt) {
      await em.nativeUpdate(Delivery, { id: delivery.id, status: { $in: UNFINISHED } }, { status: DeliveryStatus.CANCELLED, nextAttemptAt: null, completedAt: new Date() });
      return { ok: false, retryAt: null, reason: 'cancelled' };
    }
    const settings = this.webhooks.sendSettings(webhook);
    const startedAt = new Date();
    let outcome: SendOutcome;
    if (settings.ok) {
      const body = buildPayload(
        { deliveryId: delivery.id, organizationId: delivery.organization, createdAt: delivery.createdAt, test: delivery.kind === DeliveryKind.TEST },
        await this.payloadEvents(delivery),
      );
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        ...signatureHeaders({ webhookId: delivery.id, timestampSec: Math.floor(startedAt.getTime() / 1000), body, secrets: settings.settings.signingSecrets }),
      };
      if (settings.settings.authorization) headers.authorization = settings.settings.authorization;
      outcome = await send({ url: settings.settings.url, headers, body });
    } else {
      // Nothing is sent without its credentials and signature; the attempt fails and retries on schedule (a restart with the right key fixes it).
      outcome = { ok: false, statusCode: null, error: settings.error, responseBody: null, durationMs: 0, retryAfterMs: null };
    }
    const failure: AttemptFailure | undefined = outcome.ok
      ? undefined
      : { error: outcome.error, statusCode: outcome.statusCode, webhookId: webhook.id, redactedUrl: redactUrl(webhook.url), ...(settings.ok ? {} : { detail: settings.detail }) };

    const delayMs = outcome.ok ? null : retryDelayMs({ attemptNumber, delaysMs: this.config.retryDelaysMs, retryAfterMs: outcome.retryAfterMs });
    const finishedAt = new Date();
    const nextAttemptAt = delayMs === null ? null : new Date(finishedAt.getTime() + delayMs);
    const committed = await this.orm.em.fork().transactional(async (tx) => {
      const status = outcome.ok ? DeliveryStatus.SUCCEEDED : nextAttemptAt ? DeliveryStatus.RETRYING : DeliveryStatus.FAILED;
      // Guarded on the state we read: a delivery cancelled meanwhile keeps its CANCELLED status.
      const updated = await tx.nativeUpdate(
        Delivery,
        { id: delivery.id, status: { $in: UNFINISHED }, attemptCount: delivery.attemptCount },
        { status, attemptCount: attemptNumber, nextAttemptAt, completedAt: status === DeliveryStatus.RETRYING ? null : finishedAt },
      );
      const attempt = tx.create(DeliveryAttempt, {
        id: newId('att'),
        delivery: delivery.id,
        webhook: webhook.id,
        organization: delivery.organization,
        attemptNumber,
        outcome: outcome.ok ? AttemptOutcome.SUCCEEDED : AttemptOutcome.FAILED,
        statusCode: outcome.statusCode,
        error: outcome.ok ? null : outcome.error,
        responseBody: outcome.responseBody,
        durationMs: outcome.durationMs,
        startedAt,
        willRetry: updated === 1 && nextAttemptAt !== null,
        nextAttemptAt: updated === 1 ? nextAttemptAt : null,
      });
      await tx.flush();
      await tx.nativeUpdate(
        Webhook,
        { id: webhook.id },
        outcome.ok ? { lastAttemptAt: startedAt, lastSuccessAt: finishedAt } : { lastAttemptAt: startedAt, lastFailureAt: finishedAt },
      );
      return { attempt, updated: updated === 1 };
    });
    const { attempt } = committed;
    this.feed.publish(attempt);
    if (!committed.updated) return { ok: false, retryAt: null, reason: 'cancelled', ...(failure ? { failure } : {}) };
    if (outcome.ok) return { ok: true };
    return nextAttemptAt ? { ok: false, retryAt: nextAttemptAt, failure: failure! } : { ok: false, retryAt: null, reason: 'exhausted', failure: failure! };
  }

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
        maxAttempts: this.maxAttempts,
        createdAt: now,
        nextAttemptAt: new Date(now.getTime() + this.config.testDelayMs),
        sampleEvents: sampleActivities(principal, now),
      });
      delivery.eventCount = delivery.sampleEvents!.length;
      await em.flush();
      return { delivery, created: true };
    });
    if (result.created) await this.signals().deliveryScheduled(result.delivery.id, result.delivery.nextAttemptAt!);
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
      delivery.maxAttempts = this.maxAttempts;
      delivery.nextAttemptAt = now;
      delivery.completedAt = null;
      await em.flush();
      return delivery;
    });
    await this.signals().deliveryScheduled(delivery.id, delivery.nextAttemptAt!);
    return delivery;
  }

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

  private async payloadEvents(delivery: Delivery): Promise<PayloadEvent[]> {
    return (await this.events(delivery)).map((event) => ({
      id: event.id,
      time: event.time,
      action: event.action,
      actor: { ...event.actor },
      context: event.context.map((o) => ({ ...o })),
      container: event.container.map((o) => ({ ...o })),
      location: event.location ? { ...event.location } : null,
      message: event.message,
    }));
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
