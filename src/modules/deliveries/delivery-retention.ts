import type { MikroORM } from '@mikro-orm/sql';
import { sqlOf } from '../../db/kysely.js';
import { DeliveryStatus } from './delivery.entity.js';

/** Only these may be pruned: a PENDING or RETRYING delivery is never touched, however old. */
const FINISHED = [DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED];

/** What one prune batch removed, by table. */
export interface PrunedDeliveryRows {
  deliveries: number;
  attempts: number;
  links: number;
}

/**
 * Removes old delivery history: finished deliveries completed before a cutoff, with their attempts and
 * event links (the audit events themselves stay). The deliveries module owns these three tables, so
 * their deletes live here; each call is one short transaction of portable, set-based SQL.
 */
export class DeliveryRetention {
  constructor(private readonly orm: MikroORM) {}

  /**
   * Prunes the oldest finished deliveries completed before `cutoff`, taking as many as fit in about
   * `maxRows` rows (a delivery counts 1 + its events + its attempts; one is always taken). Answers
   * what went; zero deliveries means nothing older is left.
   */
  async pruneBatch(cutoff: Date, maxRows: number): Promise<PrunedDeliveryRows> {
    return this.orm.em.fork().transactional(async (em) => {
      const db = sqlOf(em);
      // Walks deliveries_completed_idx: only finished deliveries have a completed_at. The status is checked
      // here rather than in the WHERE, where SQLite would pick the status index and sort every finished row.
      const candidates = (
        await db
          .selectFrom('deliveries')
          .select(['id', 'status', 'event_count', 'attempt_count'])
          .where('completed_at', '<', cutoff)
          .orderBy('completed_at')
          .limit(maxRows)
          .execute()
      ).filter((candidate) => FINISHED.includes(candidate.status as DeliveryStatus));
      const ids: string[] = [];
      let rows = 0;
      for (const candidate of candidates) {
        const cost = 1 + Number(candidate.event_count) + Number(candidate.attempt_count);
        if (ids.length > 0 && rows + cost > maxRows) break;
        ids.push(candidate.id);
        rows += cost;
      }
      if (ids.length === 0) return { deliveries: 0, attempts: 0, links: 0 };
      // Counted before: the deletes below reach them through ON DELETE CASCADE.
      const links = await db.selectFrom('delivery_events').select((eb) => eb.fn.countAll<number>().as('n')).where('delivery_id', 'in', ids).executeTakeFirstOrThrow();
      const attempts = await db.selectFrom('delivery_attempts').select((eb) => eb.fn.countAll<number>().as('n')).where('delivery_id', 'in', ids).executeTakeFirstOrThrow();
      // Parents first, re-checked: every unfinished delivery has no completed_at (a redelivery clears it),
      // so one reopened meanwhile stays, with all its history. (A status condition here would make SQLite
      // walk the status index instead of the ids.) The schema's ON DELETE CASCADE takes attempts and links.
      const deleted = await db.deleteFrom('deliveries').where('id', 'in', ids).where('completed_at', '<', cutoff).executeTakeFirst();
      // Exact on SQLite (its write lock is held since BEGIN IMMEDIATE, so every candidate goes).
      return { deliveries: Number(deleted.numDeletedRows), attempts: Number(attempts.n), links: Number(links.n) };
    });
  }
}
