import type { MikroORM } from '@mikro-orm/sql';
import { sqlOf } from '../../db/kysely.js';

/** Delivery statuses that still owe an attempt (the deliveries module's values; this module does not import it). */
const UNFINISHED_DELIVERY_STATUSES = ['PENDING', 'RETRYING'];

/**
 * Removes audit events recorded before a cutoff (only when AUDITHOOK_EVENT_RETENTION is set). The
 * audit-events module owns the table, so the delete lives here. An event still waiting in the outbox
 * or carried by an unfinished delivery is never removed: it is kept until it has been delivered.
 * A finished delivery that carried a removed event loses that link (ON DELETE CASCADE).
 */
export class AuditEventRetention {
  constructor(private readonly orm: MikroORM) {}

  /** Prunes up to `maxRows` of the oldest such events in one short transaction; answers how many went. */
  async pruneBatch(cutoff: Date, maxRows: number): Promise<number> {
    return this.orm.em.fork().transactional(async (em) => {
      const db = sqlOf(em);
      const deleted = await db
        .deleteFrom('audit_events')
        .where('id', 'in', (eb) =>
          eb
            .selectFrom('audit_events as e')
            .select('e.id')
            // Walks audit_events_received_idx.
            .where('e.received_at', '<', cutoff)
            .where(({ not, exists, selectFrom }) => not(exists(selectFrom('pending_events as p').select('p.event_id').whereRef('p.event_id', '=', 'e.id'))))
            .where(({ not, exists, selectFrom }) =>
              not(
                exists(
                  selectFrom('delivery_events as l')
                    .innerJoin('deliveries as d', 'd.id', 'l.delivery_id')
                    .select('l.event_id')
                    .whereRef('l.event_id', '=', 'e.id')
                    .where('d.status', 'in', UNFINISHED_DELIVERY_STATUSES),
                ),
              ),
            )
            .orderBy('e.received_at')
            .limit(maxRows),
        )
        .executeTakeFirst();
      return Number(deleted.numDeletedRows);
    });
  }
}
