import type { EntityManager, MikroORM } from '@mikro-orm/sql';
import { dateOf, skippingLockedRows, sqlOf } from '../../db/kysely.js';
import type { EventQueue } from '../audit-events/audit-event.service.js';

/** An event taken out of the outbox, with when it was enqueued (to keep the batch in recording order). */
export interface ClaimedEvent {
  eventId: string;
  enqueuedAt: Date;
}

/** Rows per multi-row INSERT: well under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters. */
const INSERT_CHUNK_ROWS = 1_000;

/**
 * The outbox (`pending_events`): events recorded while a webhook is active and not yet taken into a
 * delivery. The only writer of that table; every statement is set-based and portable SQL.
 */
export class OutboxService implements EventQueue {
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
   */
  async claim(em: EntityManager, webhookId: string, max: number): Promise<ClaimedEvent[]> {
    const db = sqlOf(em);
    const claimable = skippingLockedRows(em);
    const rows = await db
      .deleteFrom('pending_events')
      .where('event_id', 'in', (eb) =>
        claimable(eb.selectFrom('pending_events').select('event_id').where('webhook_id', '=', webhookId).orderBy('enqueued_at').orderBy('event_id').limit(max)),
      )
      .returning(['event_id', 'enqueued_at'])
      .execute();
    return rows
      .map((row) => ({ eventId: row.event_id, enqueuedAt: dateOf(row.enqueued_at) }))
      .sort((a, b) => a.enqueuedAt.getTime() - b.enqueuedAt.getTime() || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
  }

  /** Whether a webhook has any event waiting (a read outside any transaction; the claim itself decides). */
  async hasWaiting(webhookId: string): Promise<boolean> {
    const row = await sqlOf(this.orm.em.fork()).selectFrom('pending_events').select('event_id').where('webhook_id', '=', webhookId).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /** Webhooks with events waiting (start-up recovery and the sweep that catches lost signals). */
  async waitingWebhooks(): Promise<string[]> {
    const rows = await sqlOf(this.orm.em.fork()).selectFrom('pending_events').select('webhook_id').distinct().execute();
    return rows.map((row) => row.webhook_id);
  }

  /** Drops everything a webhook had waiting (it was removed), inside the caller's transaction. */
  async drop(em: EntityManager, webhookId: string): Promise<void> {
    await sqlOf(em).deleteFrom('pending_events').where('webhook_id', '=', webhookId).execute();
  }
}
