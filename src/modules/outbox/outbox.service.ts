import type { EntityManager, MikroORM } from '@mikro-orm/sql';
import { dateOf, skippingLockedRows, sqlOf } from '../../db/kysely.js';
import type { EventQueue } from '../audit-events/audit-event.service.js';
import type { DisabledBuffer } from '../webhooks/webhook-disabling.js';
import { WebhookStatus } from '../webhooks/webhook.entity.js';

/** An event taken out of the outbox, with when it was enqueued (to keep the batch in recording order). */
export interface ClaimedEvent {
  eventId: string;
  enqueuedAt: Date;
}

/** Rows per multi-row INSERT: well under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters. */
const INSERT_CHUNK_ROWS = 1_000;

/**
 * The outbox (`pending_events`): events recorded for a webhook and not yet taken into a delivery.
 * A DISABLED webhook's events stay here (its buffer) and are not taken until it is ACTIVE again.
 * The only writer of that table; every statement is set-based and portable SQL.
 */
export class OutboxService implements EventQueue, DisabledBuffer {
  constructor(private readonly orm: MikroORM) {}

  /** Queues events for a webhook inside the caller's transaction (the one that records them): one INSERT. */
  async enqueue(em: EntityManager, webhookId: string, eventIds: readonly string[], enqueuedAt: Date): Promise<void> {
    const db = sqlOf(em);
    for (let i = 0; i < eventIds.length; i += INSERT_CHUNK_ROWS) {
      const rows = eventIds.slice(i, i + INSERT_CHUNK_ROWS).map((eventId) => ({ event_id: eventId, webhook_id: webhookId, enqueued_at: enqueuedAt }));
      await db.insertInto('pending_events').values(rows).execute();
    }
  }

  /**
   * Takes up to `max` of a webhook's oldest waiting events out of the outbox in one statement, inside
   * the caller's transaction (the one that creates their delivery), so each event lands in exactly one
   * delivery; concurrent claimers (other workers) skip the rows one of them holds, so none waits.
   * Nothing is taken while the webhook is DISABLED (checked in the same statement).
   */
  async claim(em: EntityManager, webhookId: string, max: number): Promise<ClaimedEvent[]> {
    const db = sqlOf(em);
    const claimable = skippingLockedRows(em);
    const rows = await db
      .deleteFrom('pending_events')
      .where('event_id', 'in', (eb) =>
        claimable(
          eb
            .selectFrom('pending_events')
            .select('event_id')
            .where('webhook_id', '=', webhookId)
            .where((w) => w.exists(w.selectFrom('webhooks').select('webhooks.id').where('webhooks.id', '=', webhookId).where('webhooks.status', '=', WebhookStatus.ACTIVE)))
            .orderBy('enqueued_at')
            .orderBy('event_id')
            .limit(max),
        ),
      )
      .returning(['event_id', 'enqueued_at'])
      .execute();
    return rows
      .map((row) => ({ eventId: row.event_id, enqueuedAt: dateOf(row.enqueued_at) }))
      .sort((a, b) => a.enqueuedAt.getTime() - b.enqueuedAt.getTime() || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
  }

  /** Whether an ACTIVE webhook has any event waiting to be taken (a read outside any transaction; the claim itself decides). */
  async hasWaiting(webhookId: string): Promise<boolean> {
    const row = await sqlOf(this.orm.em.fork())
      .selectFrom('pending_events')
      .innerJoin('webhooks', 'webhooks.id', 'pending_events.webhook_id')
      .select('pending_events.event_id')
      .where('pending_events.webhook_id', '=', webhookId)
      .where('webhooks.status', '=', WebhookStatus.ACTIVE)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** ACTIVE webhooks with events waiting (start-up recovery and the sweep that catches lost signals); DISABLED ones wait. */
  async waitingWebhooks(): Promise<string[]> {
    const rows = await sqlOf(this.orm.em.fork())
      .selectFrom('pending_events')
      .innerJoin('webhooks', 'webhooks.id', 'pending_events.webhook_id')
      .select('pending_events.webhook_id')
      .where('webhooks.status', '=', WebhookStatus.ACTIVE)
      .distinct()
      .execute();
    return rows.map((row) => row.webhook_id);
  }

  /** DisabledBuffer: drops a DISABLED webhook's events enqueued before `before`, in one statement in the caller's transaction. */
  async dropExpired(em: EntityManager, webhookId: string, before: Date): Promise<number> {
    const result = await sqlOf(em)
      .deleteFrom('pending_events')
      .where('webhook_id', '=', webhookId)
      .where('enqueued_at', '<', before)
      .where((eb) => eb.exists(eb.selectFrom('webhooks').select('webhooks.id').where('webhooks.id', '=', webhookId).where('webhooks.status', '=', WebhookStatus.DISABLED)))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Drops everything a webhook had waiting (it was removed), inside the caller's transaction. */
  async drop(em: EntityManager, webhookId: string): Promise<void> {
    await sqlOf(em).deleteFrom('pending_events').where('webhook_id', '=', webhookId).execute();
  }
}
