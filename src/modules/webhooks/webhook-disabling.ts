import type { EntityManager, MikroORM } from '@mikro-orm/sql';
import { dateOf, sqlOf } from '../../db/kysely.js';
import { redactUrl } from '../../lib/redact-url.js';
import { noMetrics, type ServiceMetrics } from '../../metrics/metrics.js';
import type { AuditEventService } from '../audit-events/audit-event.service.js';
import { Webhook, WebhookStatus } from './webhook.entity.js';

/** The two durations of the disable rules (AUDITHOOK_DISABLE_AFTER, AUDITHOOK_DISABLED_BUFFER). */
export interface DisablingSettings {
  disableAfterMs: number;
  disabledBufferMs: number;
}

/** What a DISABLED webhook's buffer needs from the outbox (which implements it; this module never imports it). */
export interface DisabledBuffer {
  /** Drops the events a DISABLED webhook has had waiting since before `before`, in the caller's transaction; how many. */
  dropExpired(em: EntityManager, webhookId: string, before: Date): Promise<number>;
}

/** One finished attempt, as the failing/disable decision needs it. */
export interface AttemptOutcomeData {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  startedAt: Date;
  finishedAt: Date;
}

/** What re-enabling found: how long it had been off and why, and how many buffered events had to be dropped. */
export interface Reenabled {
  disabledAt: Date | null;
  disabledReason: string | null;
  failingSince: Date | null;
  droppedEvents: number;
  /** Dropped by this re-enable itself (the rest were counted when the sweep dropped them). */
  droppedNow: number;
}

/** The receiver told us it is gone for good: no point waiting out AUDITHOOK_DISABLE_AFTER. */
const GONE_STATUS = 410;
/** Failures that say nothing about the receiver (nothing was sent), so they never start or extend a failing run. */
const NOT_THE_RECEIVERS_FAULT = new Set(['SECRET_UNREADABLE']);

/** Whether a failed attempt's error says the receiver failed (the one rule for failing runs and the failing-webhook request cap). */
export function isReceiverFailure(error: string | null): boolean {
  return !NOT_THE_RECEIVERS_FAULT.has(error ?? '');
}

/**
 * The failing/disable rules of a webhook, over the webhooks row: every attempt's outcome stamps it
 * (a success ends the failing run, a failure starts one), a run that lasted AUDITHOOK_DISABLE_AFTER or
 * a 410 Gone turns the webhook DISABLED (with an audit event), and while it is DISABLED events older
 * than AUDITHOOK_DISABLED_BUFFER are dropped from its outbox and counted.
 */
export class WebhookDisabling {
  constructor(
    private readonly orm: MikroORM,
    private readonly auditEvents: AuditEventService,
    private readonly buffer: DisabledBuffer,
    private readonly settings: DisablingSettings,
    private readonly metrics: ServiceMetrics = noMetrics,
  ) {}

  /**
   * Inside the attempt's transaction: stamps the outcome on the webhook and, when this failure ends
   * its patience, disables it and records `audit_log_webhook_disabled`. Returns the reason when this
   * attempt disabled the webhook, else null. Two statements for a failure, one for a success.
   */
  async recordAttempt(em: EntityManager, webhookId: string, outcome: AttemptOutcomeData): Promise<string | null> {
    const db = sqlOf(em);
    if (outcome.ok) {
      await db
        .updateTable('webhooks')
        .set({ last_attempt_at: outcome.startedAt, last_success_at: outcome.finishedAt, failing_since: null })
        .where('id', '=', webhookId)
        .execute();
      return null;
    }
    const counts = isReceiverFailure(outcome.error);
    const row = await db
      .updateTable('webhooks')
      .set((eb) => ({
        last_attempt_at: outcome.startedAt,
        last_failure_at: outcome.finishedAt,
        ...(counts ? { failing_since: eb.fn.coalesce('failing_since', eb.val(outcome.startedAt)) } : {}),
      }))
      .where('id', '=', webhookId)
      .returning(['status', 'failing_since', 'organization_id', 'url', 'removed_at'])
      .executeTakeFirst();
    if (!row || !counts || row.status !== WebhookStatus.ACTIVE || row.removed_at !== null || row.failing_since === null) return null;
    const failingSince = dateOf(row.failing_since);
    const reason =
      outcome.statusCode === GONE_STATUS
        ? `HTTP_${GONE_STATUS}`
        : outcome.finishedAt.getTime() - failingSince.getTime() >= this.settings.disableAfterMs
          ? `FAILING_SINCE_${isoSeconds(failingSince)}`
          : null;
    if (!reason) return null;
    const disabled = await db
      .updateTable('webhooks')
      .set({ status: WebhookStatus.DISABLED, disabled_at: outcome.finishedAt, disabled_reason: reason, dropped_buffered_events: 0 })
      .where('id', '=', webhookId)
      .where('status', '=', WebhookStatus.ACTIVE)
      .executeTakeFirst();
    if (Number(disabled.numUpdatedRows) !== 1) return null;
    const failingFor = describeDuration(outcome.finishedAt.getTime() - failingSince.getTime());
    await this.auditEvents.recordSystemEvent(em, { system: true, organizationId: row.organization_id }, {
      action: 'audit_log_webhook_disabled',
      context: [
        {
          id: webhookId,
          type: 'webhook',
          name: redactUrl(row.url),
          attributes: { reason, failingSince: failingSince.toISOString(), disabledAt: outcome.finishedAt.toISOString(), statusCode: outcome.statusCode, error: outcome.error },
        },
      ],
      message:
        reason === 'HTTP_410'
          ? `Audit-log webhook ${webhookId} disabled: the receiver answered 410 Gone; new events wait until it is updated`
          : `Audit-log webhook ${webhookId} disabled: every attempt has failed for ${failingFor} (since ${failingSince.toISOString()}); new events wait until it is updated`,
    });
    return reason;
  }

  /**
   * Inside updateWebhook's transaction, before its flush: a DISABLED webhook becomes ACTIVE with a fresh
   * failing run; buffered events older than AUDITHOOK_DISABLED_BUFFER are dropped first. Null when it was ACTIVE.
   */
  async reenableInTransaction(em: EntityManager, webhook: Webhook, now: Date): Promise<Reenabled | null> {
    if (webhook.status !== WebhookStatus.DISABLED) return null;
    const droppedNow = await this.buffer.dropExpired(em, webhook.id, new Date(now.getTime() - this.settings.disabledBufferMs));
    const reenabled: Reenabled = {
      disabledAt: webhook.disabledAt,
      disabledReason: webhook.disabledReason,
      failingSince: webhook.failingSince,
      droppedEvents: webhook.droppedBufferedEvents + droppedNow,
      droppedNow,
    };
    webhook.status = WebhookStatus.ACTIVE;
    webhook.disabledAt = null;
    webhook.disabledReason = null;
    webhook.failingSince = null;
    webhook.droppedBufferedEvents = 0;
    return reenabled;
  }

  /** After the attempt that disabled a webhook committed: counts it by kind of reason. */
  afterDisabled(reason: string): void {
    this.metrics.webhookDisabled(reason === `HTTP_${GONE_STATUS}` ? 'HTTP_410' : 'FAILING');
  }

  /** After re-enabling committed: counts what it dropped (the metric counts only committed drops). */
  afterReenabled(reenabled: Reenabled): void {
    this.metrics.bufferedEventsDropped(reenabled.droppedNow);
  }

  /**
   * The sweep: drops events that have waited longer than AUDITHOOK_DISABLED_BUFFER for a DISABLED webhook
   * (one read when none is disabled; one short transaction per disabled webhook) and counts them on the
   * webhook, for the re-enable audit event, and in the metric. Returns how many were dropped.
   */
  async dropExpiredBuffers(now: Date = new Date()): Promise<number> {
    const disabled = await sqlOf(this.orm.em.fork())
      .selectFrom('webhooks')
      .select('id')
      .where('status', '=', WebhookStatus.DISABLED)
      .where('removed_at', 'is', null)
      .execute();
    const before = new Date(now.getTime() - this.settings.disabledBufferMs);
    let total = 0;
    for (const { id } of disabled) {
      const dropped = await this.orm.em.fork().transactional(async (em) => {
        const count = await this.buffer.dropExpired(em, id, before);
        if (count > 0) {
          await sqlOf(em)
            .updateTable('webhooks')
            .set((eb) => ({ dropped_buffered_events: eb('dropped_buffered_events', '+', count) }))
            .where('id', '=', id)
            .execute();
        }
        return count;
      });
      this.metrics.bufferedEventsDropped(dropped);
      total += dropped;
    }
    return total;
  }
}

/** `2026-11-20T10:00:00Z`: ISO 8601 to the second, as the disabled reason shows it. */
function isoSeconds(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A duration for a message: the largest whole unit (days, hours, minutes, else seconds). */
function describeDuration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1_000, 'second'],
  ];
  for (const [size, name] of units) {
    const n = Math.floor(ms / size);
    if (n >= 1 || size === 1_000) return `${n} ${name}${n === 1 ? '' : 's'}`;
  }
  return `${ms} ms`;
}
