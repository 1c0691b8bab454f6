import type { EntityManager, MikroORM } from '@mikro-orm/sql';
import type { DeliveryConfig } from '../../config.js';
import { dateOf, json, parsedJson, sqlOf, type DeliveryAttemptRow } from '../../db/kysely.js';
import type { SendOutcome, WebhookRequest } from '../../delivery/http-client.js';
import type { PayloadEvent } from '../../delivery/payload.js';
import { retryDelayMs } from '../../delivery/retry-policy.js';
import { sentHeaders, type SentHeader } from '../../delivery/sent-headers.js';
import { signatureHeaders } from '../../delivery/signing.js';
import { newId } from '../../lib/ids.js';
import { PACKAGE_VERSION } from '../../lib/package-info.js';
import { redactUrl } from '../../lib/redact-url.js';
import { noMetrics, type ServiceMetrics } from '../../metrics/metrics.js';
import type { OutboxService } from '../outbox/outbox.service.js';
import type { CancelledDelivery, DeliveryCancellation, DeliveryResumption } from '../webhooks/webhook.service.js';
import type { WebhookService } from '../webhooks/webhook.service.js';
import { isReceiverFailure } from '../webhooks/webhook-disabling.js';
import { Webhook, WebhookStatus } from '../webhooks/webhook.entity.js';
import type { AttemptFeed } from './attempt-feed.js';
import { payloadEventOf, payloadOf, type DeliveryReadModel } from './delivery-read-model.js';
import type { DeliverySignals } from './delivery-signals.js';
import { AttemptOutcome, Delivery, DeliveryAttempt, DeliveryKind, DeliveryStatus } from './delivery.entity.js';

/** The package version sent as `user-agent: audithook/<version>`. */
export const USER_AGENT = `audithook/${PACKAGE_VERSION}`;

/** Why the attempt that just ran failed, for the job layer's log line; the URL is already redacted. */
export interface AttemptFailure {
  attemptNumber: number;
  error: string;
  statusCode: number | null;
  webhookId: string;
  redactedUrl: string;
  /** Set for SECRET_UNREADABLE: which stored secret and why (a key id at most, never a key or a value). */
  detail?: string;
  /** Set when this failure turned the webhook DISABLED: the reason (HTTP_410, FAILING_SINCE_...). */
  webhookDisabled?: string;
  /** The receiver failed (false when nothing was sent, e.g. SECRET_UNREADABLE): the job layer caps a failing webhook's requests. */
  receiverFailed: boolean;
}

/** What one attempt came to, as a value: done, or when to try again. */
export type AttemptResult = (
  | { ok: true }
  | { ok: false; retryAt: Date; failure?: AttemptFailure }
  | { ok: false; retryAt: null; reason: 'exhausted' | 'finished' | 'cancelled' | 'missing'; failure?: AttemptFailure }
) & {
  /** The attempt recorded by this run, if it recorded one (the job layer logs it with the worker's identity). */
  attemptId?: string;
};

/** Sends one request; the job layer passes its process-wide HTTP client in. */
export type SendRequest = (request: WebhookRequest) => Promise<SendOutcome>;

const UNFINISHED = [DeliveryStatus.PENDING, DeliveryStatus.RETRYING];
/** A job run this much before the delivery's recorded next attempt is a stale re-run, not the attempt. */
const EARLY_RUN_TOLERANCE_MS = 1_000;
/**
 * How far ahead a delivery held by its DISABLED webhook looks again. Re-enabling wakes held deliveries
 * at once; this only bounds a wake lost to a race with a run in progress (or a restart).
 */
export const HELD_RECHECK_MS = 60_000;

/** Attempts per delivery: the first one and one per configured retry delay. */
export function maxAttemptsOf(config: DeliveryConfig): number {
  return config.retryDelaysMs.length + 1;
}

/**
 * The worker side of delivery, top-down: outbox → batch (takeBatch) → attempt (send, record,
 * publish). Each step is a few set-based statements; the job layer decides when each runs.
 */
export class DeliveryPipeline implements DeliveryCancellation, DeliveryResumption {
  constructor(
    private readonly orm: MikroORM,
    private readonly config: DeliveryConfig,
    private readonly webhooks: WebhookService,
    private readonly outbox: OutboxService,
    private readonly reads: DeliveryReadModel,
    private readonly feed: AttemptFeed,
    private readonly signals: () => DeliverySignals,
    private readonly metrics: ServiceMetrics = noMetrics,
  ) {}

  /**
   * Takes up to maxBatchSize waiting events of a webhook into one new delivery, in one transaction of
   * four statements (claim, webhook, delivery, its event links), so each event lands in exactly one delivery.
   */
  async takeBatch(webhookId: string): Promise<{ id: string; eventCount: number; runAt: Date } | null> {
    // The common "nothing waiting" answer costs one indexed read, not a write transaction.
    if (!(await this.outbox.hasWaiting(webhookId))) return null;
    return this.orm.em.fork().transactional(async (em) => {
      const claimed = await this.outbox.claim(em, webhookId, this.config.maxBatchSize);
      if (claimed.length === 0) return null;
      const db = sqlOf(em);
      const webhook = await db.selectFrom('webhooks').select(['id', 'organization_id']).where('id', '=', webhookId).where('removed_at', 'is', null).executeTakeFirst();
      if (!webhook) return null; // removed meanwhile: its outbox goes with it
      const now = new Date();
      const id = newId('dlv');
      await db
        .insertInto('deliveries')
        .values({
          id,
          organization_id: webhook.organization_id,
          webhook_id: webhookId,
          kind: DeliveryKind.EVENTS,
          status: DeliveryStatus.PENDING,
          event_count: claimed.length,
          attempt_count: 0,
          max_attempts: maxAttemptsOf(this.config),
          created_at: now,
          completed_at: null,
          sample_events: null,
        })
        .execute();
      await db
        .insertInto('delivery_events')
        .values(claimed.map((event, position) => ({ delivery_id: id, event_id: event.eventId, position })))
        .execute();
      return { id, eventCount: claimed.length, runAt: now };
    });
  }

  /** Webhooks with events waiting in the outbox (start-up recovery and the sweep). */
  webhooksWithPendingEvents(): Promise<string[]> {
    return this.outbox.waitingWebhooks();
  }

  /**
   * Deliveries that still owe an attempt, with when it is due as their history says: the plan of the
   * attempt that scheduled the retry, a new TEST delivery's creation plus the test delay, else its
   * creation (due at once). All of them for start-up recovery; with `dueBefore`, only those due before
   * then, oldest first, at most `limit` (the job layer's check for deliveries left without a job). Two queries.
   */
  async unfinished(dueBefore?: Date, limit?: number): Promise<{ id: string; webhookId: string; runAt: Date }[]> {
    const db = sqlOf(this.orm.em.fork());
    const rows = await db.selectFrom('deliveries').select(['id', 'webhook_id', 'kind', 'status', 'attempt_count', 'created_at']).where('status', 'in', UNFINISHED).execute();
    const facts = rows.map((row) => ({ id: row.id, status: row.status as DeliveryStatus, kind: row.kind as DeliveryKind, attemptCount: Number(row.attempt_count), createdAt: dateOf(row.created_at) }));
    const next = await this.reads.nextAttemptsOfMany(facts);
    const due = facts.map((d, index) => ({ id: d.id, webhookId: rows[index]!.webhook_id, runAt: next.get(d.id) ?? d.createdAt }));
    if (!dueBefore) return due;
    return due
      .filter((delivery) => delivery.runAt.getTime() < dueBefore.getTime())
      .sort((a, b) => a.runAt.getTime() - b.runAt.getTime())
      .slice(0, limit ?? due.length);
  }

  /** How many of a webhook's deliveries are waiting for their first attempt (to hold back new batches). */
  async countAwaitingFirstAttempt(webhookId: string): Promise<number> {
    const row = await sqlOf(this.orm.em.fork())
      .selectFrom('deliveries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('webhook_id', '=', webhookId)
      .where('status', '=', DeliveryStatus.PENDING)
      .where('kind', '=', DeliveryKind.EVENTS)
      .where('attempt_count', '=', 0)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** DeliveryCancellation: the webhook goes, so do its unfinished deliveries and its outbox (two statements, in the caller's transaction). */
  async cancelInTransaction(em: EntityManager, webhookId: string, at: Date): Promise<CancelledDelivery[]> {
    await this.outbox.drop(em, webhookId);
    return sqlOf(em)
      .updateTable('deliveries')
      .set({ status: DeliveryStatus.CANCELLED, completed_at: at })
      .where('webhook_id', '=', webhookId)
      .where('status', 'in', UNFINISHED)
      .returning(['id', 'kind'])
      .execute();
  }

  /** DeliveryCancellation, after commit: their jobs are no longer needed. */
  async afterCancelled(cancelled: CancelledDelivery[]): Promise<void> {
    for (const delivery of cancelled) this.metrics.deliveryFinished(delivery.kind, DeliveryStatus.CANCELLED);
    if (cancelled.length > 0) await this.signals().deliveriesCancelled(cancelled.map((delivery) => delivery.id));
  }

  /** DeliveryResumption, after the re-enable committed: held EVENTS deliveries are attempted now, and the buffered outbox is pumped. */
  async afterReenabled(webhookId: string): Promise<void> {
    const held = await sqlOf(this.orm.em.fork())
      .selectFrom('deliveries')
      .select('id')
      .where('webhook_id', '=', webhookId)
      .where('status', 'in', UNFINISHED)
      .where('kind', '=', DeliveryKind.EVENTS)
      .execute();
    if (held.length > 0) await this.signals().deliveriesResumed(held.map((delivery) => delivery.id), webhookId);
    this.signals().eventsQueued(webhookId);
  }

  /** The sweep: drops events DISABLED webhooks have had waiting longer than AUDITHOOK_DISABLED_BUFFER; how many. */
  dropExpiredBufferedEvents(): Promise<number> {
    return this.webhooks.disabling.dropExpiredBuffers();
  }

  /**
   * Performs the delivery's next attempt: its number comes from the delivery's own history
   * (attempts so far + 1), not from the job, so the job carries nothing but which delivery and when.
   * Signs with the webhook's current secrets, sends, and records the attempt and the delivery's new
   * state in one transaction. A run before the retry its last attempt planned (a job re-run after a
   * crash, when that attempt was recorded but the job not yet rescheduled) sends nothing and answers
   * the plan, unless an admin asked for the retry now (`retryRequestedAt`, after that attempt).
   */
  async attempt(deliveryId: string, send: SendRequest, retryRequestedAt: Date | null = null): Promise<AttemptResult> {
    const em = this.orm.em.fork();
    const delivery = await em.findOne(Delivery, { id: deliveryId });
    if (!delivery) return { ok: false, retryAt: null, reason: 'missing' };
    if (delivery.status === DeliveryStatus.CANCELLED) return { ok: false, retryAt: null, reason: 'cancelled' };
    if (!UNFINISHED.includes(delivery.status)) return { ok: false, retryAt: null, reason: 'finished' };
    if (delivery.status === DeliveryStatus.RETRYING) {
      const plan = (await this.reads.plannedAttempts([delivery.id])).get(delivery.id);
      const asked = retryRequestedAt !== null && plan !== undefined && retryRequestedAt.getTime() > plan.plannedByAttemptStartedAt.getTime();
      if (plan && !asked && plan.at.getTime() > Date.now() + EARLY_RUN_TOLERANCE_MS) return { ok: false, retryAt: plan.at };
    }
    const attemptNumber = delivery.attemptCount + 1;
    const webhook = await em.findOne(Webhook, { id: delivery.webhook });
    if (!webhook || webhook.removedAt) {
      const cancelled = await sqlOf(em)
        .updateTable('deliveries')
        .set({ status: DeliveryStatus.CANCELLED, completed_at: new Date() })
        .where('id', '=', delivery.id)
        .where('status', 'in', UNFINISHED)
        .executeTakeFirst();
      if (Number(cancelled.numUpdatedRows) === 1) this.metrics.deliveryFinished(delivery.kind, DeliveryStatus.CANCELLED);
      return { ok: false, retryAt: null, reason: 'cancelled' };
    }
    // Held while DISABLED: nothing is sent or counted; re-enabling wakes it (tests are still sent, on request).
    if (webhook.status === WebhookStatus.DISABLED && delivery.kind === DeliveryKind.EVENTS) return { ok: false, retryAt: new Date(Date.now() + HELD_RECHECK_MS) };
    const settings = this.webhooks.sendSettings(webhook);
    const startedAt = new Date();
    let outcome: SendOutcome;
    // The request as sent, kept with the attempt (Authorization as its scheme only); nothing sent keeps no headers.
    let sent: { url: string; headers: SentHeader[] } = { url: webhook.url, headers: [] };
    if (settings.ok) {
      const body = payloadOf(delivery, await this.payloadEvents(delivery));
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        ...signatureHeaders({ webhookId: delivery.id, timestampSec: Math.floor(startedAt.getTime() / 1000), body, secrets: settings.settings.signingSecrets }),
      };
      if (settings.settings.authorization) headers.authorization = settings.settings.authorization;
      sent = { url: settings.settings.url, headers: sentHeaders(headers) };
      outcome = await send({ url: settings.settings.url, headers, body });
    } else {
      // Nothing is sent without its credentials and signature; the attempt fails and retries on schedule (a restart with the right key fixes it).
      outcome = { ok: false, statusCode: null, error: settings.error, responseBody: null, durationMs: 0, retryAfterMs: null };
    }
    const failure: AttemptFailure | undefined = outcome.ok
      ? undefined
      : {
          attemptNumber,
          error: outcome.error,
          statusCode: outcome.statusCode,
          webhookId: webhook.id,
          redactedUrl: redactUrl(webhook.url),
          receiverFailed: isReceiverFailure(outcome.error),
          ...(settings.ok ? {} : { detail: settings.detail }),
        };

    const delayMs = outcome.ok ? null : retryDelayMs({ attemptNumber, delaysMs: this.config.retryDelaysMs, retryAfterMs: outcome.retryAfterMs });
    const finishedAt = new Date();
    const nextAttemptAt = delayMs === null ? null : new Date(finishedAt.getTime() + delayMs);
    const committed = await this.orm.em.fork().transactional(async (tx) => {
      const db = sqlOf(tx);
      const status = outcome.ok ? DeliveryStatus.SUCCEEDED : nextAttemptAt ? DeliveryStatus.RETRYING : DeliveryStatus.FAILED;
      // Guarded on the state we read: a delivery cancelled meanwhile keeps its CANCELLED status.
      const updated = await db
        .updateTable('deliveries')
        .set({ status, attempt_count: attemptNumber, completed_at: status === DeliveryStatus.RETRYING ? null : finishedAt })
        .where('id', '=', delivery.id)
        .where('status', 'in', UNFINISHED)
        .where('attempt_count', '=', delivery.attemptCount)
        .executeTakeFirst();
      const applied = Number(updated.numUpdatedRows) === 1;
      if (!applied) {
        // Another process recorded this attempt number meanwhile (its job lock had expired): record
        // nothing, so no delivery ever has two attempts of one number. A cancelled delivery keeps the
        // record of the request that was sent.
        const current = await db.selectFrom('deliveries').select('status').where('id', '=', delivery.id).executeTakeFirst();
        if (current && current.status !== DeliveryStatus.CANCELLED) return null;
      }
      const attempt = Object.assign(new DeliveryAttempt(), {
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
        willRetry: applied && nextAttemptAt !== null,
        nextAttemptAt: applied ? nextAttemptAt : null,
        url: sent.url,
        requestHeaders: sent.headers,
      });
      await db.insertInto('delivery_attempts').values(attemptRow(attempt)).execute();
      const disabledReason = await this.webhooks.disabling.recordAttempt(tx, webhook.id, { ok: outcome.ok, statusCode: outcome.statusCode, error: attempt.error, startedAt, finishedAt });
      return { attempt, updated: applied, status, disabledReason };
    });
    if (!committed) return { ok: false, retryAt: null, reason: 'finished' };
    const { attempt } = committed;
    if (committed.disabledReason) {
      this.webhooks.disabling.afterDisabled(committed.disabledReason);
      failure!.webhookDisabled = committed.disabledReason;
    }
    const attemptId = attempt.id;
    this.metrics.attemptFinished(attempt.outcome, attempt.error, attempt.durationMs);
    if (committed.updated && committed.status !== DeliveryStatus.RETRYING) this.metrics.deliveryFinished(delivery.kind, committed.status);
    this.feed.publish(attempt);
    if (!committed.updated) return { ok: false, retryAt: null, reason: 'cancelled', attemptId, ...(failure ? { failure } : {}) };
    if (outcome.ok) return { ok: true, attemptId };
    return nextAttemptAt ? { ok: false, retryAt: nextAttemptAt, failure: failure!, attemptId } : { ok: false, retryAt: null, reason: 'exhausted', failure: failure!, attemptId };
  }

  /** The body's events: samples for a TEST delivery, else one joined query in batch order. */
  private async payloadEvents(delivery: Delivery): Promise<PayloadEvent[]> {
    if (delivery.kind === DeliveryKind.TEST) {
      return (await this.reads.events(delivery)).map(payloadEventOf);
    }
    const rows = await sqlOf(this.orm.em.fork())
      .selectFrom('delivery_events')
      .innerJoin('audit_events', 'audit_events.id', 'delivery_events.event_id')
      .select(['audit_events.id', 'audit_events.time', 'audit_events.action', 'audit_events.actor', 'audit_events.context', 'audit_events.container', 'audit_events.location', 'audit_events.message'])
      .where('delivery_events.delivery_id', '=', delivery.id)
      .orderBy('delivery_events.position')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      time: dateOf(row.time),
      action: row.action,
      actor: parsedJson(row.actor) as PayloadEvent['actor'],
      context: parsedJson(row.context) as PayloadEvent['context'],
      container: parsedJson(row.container) as PayloadEvent['container'],
      location: parsedJson(row.location) as PayloadEvent['location'],
      message: row.message,
    }));
  }

}

function attemptRow(attempt: DeliveryAttempt): DeliveryAttemptRow {
  return {
    id: attempt.id,
    delivery_id: attempt.delivery,
    webhook_id: attempt.webhook,
    organization_id: attempt.organization,
    attempt_number: attempt.attemptNumber,
    outcome: attempt.outcome,
    status_code: attempt.statusCode,
    error: attempt.error,
    response_body: attempt.responseBody,
    duration_ms: attempt.durationMs,
    started_at: attempt.startedAt,
    will_retry: attempt.willRetry,
    next_attempt_at: attempt.nextAttemptAt,
    url: attempt.url,
    request_headers: json(attempt.requestHeaders),
  };
}
