import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { KeyedSemaphore } from './keyed-semaphore.js';

/** The lease table: one row per request slot of a webhook that some process holds (or held, if expired). */
export const SLOT_LEASES_TABLE = 'webhook_slot_leases';

/**
 * Requests in flight at once for a webhook whose last attempt failed, until one succeeds. A receiver
 * that is down or hanging gets one probe at a time rather than AUDITHOOK_WEBHOOK_CONCURRENCY requests
 * that all time out together: less load on a receiver that is struggling, and a quarter of the work
 * (timeouts, retries, records) that its failures cost everyone else on the same workers.
 */
export const FAILING_WEBHOOK_CONCURRENCY = 1;

/** What trying to take a slot came to. */
export type SlotOutcome =
  /** A slot is ours until `release` (or the lease's expiry, if this process dies). */
  | { taken: true; release: () => Promise<void> }
  /** Every slot of the webhook is taken (`attempting`: this delivery itself is being attempted, here or elsewhere). */
  | { taken: false; attempting: boolean };

/**
 * The per-webhook request cap (AUDITHOOK_WEBHOOK_CONCURRENCY) over all worker processes together.
 *
 * A slot is a row (webhook, slot number) with a lease: taking it is one conditional upsert that
 * succeeds only where no live lease exists, releasing it deletes the row, and a lease whose holder
 * died (SIGKILL, lost host) simply expires, so nothing is ever stranded for longer than `leaseMs`.
 * The lease also names its delivery, so one delivery is never attempted by two processes at once.
 * A process-local semaphore in front keeps a process whose own requests fill the cap off the database.
 * A webhook whose last attempt in this process failed is held to FAILING_WEBHOOK_CONCURRENCY slots
 * until an attempt succeeds (each process judges by its own attempts; the cap holds either way).
 * The same SQL runs on SQLite (several processes on one file) and PostgreSQL.
 */
export class WebhookSlots {
  private readonly local: KeyedSemaphore;
  private ensured: Promise<void> | null = null;
  private readonly holderPrefix = randomBytes(6).toString('hex');
  private sequence = 0;
  /** Webhooks whose last attempt here failed. */
  private readonly failing = new Set<string>();

  constructor(
    private readonly db: () => Kysely<any>,
    private readonly limit: number,
    /** How long a lease outlives its holder: longer than any request (timeout included). */
    private readonly leaseMs: number,
    /** Called after this process released a slot of `webhookId`, so parked work can try again. */
    private readonly onRelease: (webhookId: string) => void,
  ) {
    this.local = new KeyedSemaphore(limit);
  }

  /** Creates the lease table if missing (job-layer state, like the job backends' own tables). */
  ensureTable(): Promise<void> {
    this.ensured ??= sql`create table if not exists ${sql.table(SLOT_LEASES_TABLE)} (
        webhook_id varchar(40) not null,
        slot integer not null,
        delivery_id varchar(40) not null,
        holder varchar(64) not null,
        expires_at bigint not null,
        primary key (webhook_id, slot)
      )`
      .execute(this.db())
      .then(() => undefined)
      .catch((error: unknown) => {
        // PostgreSQL: two processes creating it at once, one loses on a catalog's unique index (the table's
        // row type or name) once the other committed; the table is there.
        const code = (error as { code?: unknown } | null)?.code;
        if (code === '23505' || code === '42P07' || code === '42710') return;
        this.ensured = null;
        throw error;
      });
    return this.ensured;
  }

  /**
   * Records how an attempt of `webhookId` ended (`ok`: the receiver accepted it). True when it is the
   * first success after failures: the webhook's other slots are open again, so parked work can use them.
   */
  recordOutcome(webhookId: string, ok: boolean): boolean {
    if (ok) return this.failing.delete(webhookId);
    this.failing.add(webhookId);
    return false;
  }

  /** How many requests `webhookId` may have in flight now (the cap, or FAILING_WEBHOOK_CONCURRENCY while it fails). */
  limitOf(webhookId: string): number {
    return this.failing.has(webhookId) ? Math.min(FAILING_WEBHOOK_CONCURRENCY, this.limit) : this.limit;
  }

  /** Takes a free slot of `webhookId` for `deliveryId`, or answers at once that none is free. Never waits. */
  async tryAcquire(webhookId: string, deliveryId: string): Promise<SlotOutcome> {
    const limit = this.limitOf(webhookId);
    const releaseLocal = this.local.tryAcquire(webhookId, limit);
    if (!releaseLocal) return { taken: false, attempting: false };
    try {
      await this.ensureTable();
      const db = this.db();
      const now = Date.now();
      // Each try is one statement: the first slot with no live lease (starting at a different slot each
      // time, so concurrent takers rarely collide), unless this delivery holds one. A try that finds no
      // slot reads the leases: busy, being attempted, or a race lost to another taker (then try again).
      for (let round = 0; round < limit; round++) {
        const holder = `${this.holderPrefix}-${++this.sequence}`;
        const offset = this.sequence % limit;
        const slots = sql.join(Array.from({ length: limit }, (_, i) => sql`select ${sql.lit((i + offset) % limit)} as slot, ${sql.lit(i)} as rank`), sql` union all `);
        const won = await sql<{ slot: number }>`insert into ${sql.table(SLOT_LEASES_TABLE)} (webhook_id, slot, delivery_id, holder, expires_at)
          select ${webhookId}, candidate.slot, ${deliveryId}, ${holder}, ${now + this.leaseMs} from (${slots}) as candidate
          where not exists (select 1 from ${sql.table(SLOT_LEASES_TABLE)} live where live.webhook_id = ${webhookId} and live.slot = candidate.slot and live.expires_at > ${now})
            and not exists (select 1 from ${sql.table(SLOT_LEASES_TABLE)} mine where mine.webhook_id = ${webhookId} and mine.delivery_id = ${deliveryId} and mine.expires_at > ${now})
          order by candidate.rank limit 1
          on conflict (webhook_id, slot) do update set delivery_id = excluded.delivery_id, holder = excluded.holder, expires_at = excluded.expires_at
            where ${sql.table(SLOT_LEASES_TABLE)}.expires_at <= ${now}
          returning slot`.execute(db);
        if (won.rows.length === 1) return { taken: true, release: this.releaser(webhookId, Number(won.rows[0]!.slot), holder, releaseLocal) };
        const state = await sql<{ live: number | string; mine: number | string | null }>`select count(*) as live,
            sum(case when delivery_id = ${deliveryId} then 1 else 0 end) as mine
          from ${sql.table(SLOT_LEASES_TABLE)} where webhook_id = ${webhookId} and expires_at > ${now}`.execute(db);
        const live = Number(state.rows[0]?.live ?? 0);
        const mine = Number(state.rows[0]?.mine ?? 0);
        if (mine > 0 || live >= limit) {
          releaseLocal();
          return { taken: false, attempting: mine > 0 };
        }
      }
      releaseLocal();
      return { taken: false, attempting: false };
    } catch (error) {
      releaseLocal();
      throw error;
    }
  }

  /** Requests in flight for `webhookId` from this process (tests, metrics). */
  activeHere(webhookId: string): number {
    return this.local.active(webhookId);
  }

  private releaser(webhookId: string, slot: number, holder: string, releaseLocal: () => void): () => Promise<void> {
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      try {
        await sql`delete from ${sql.table(SLOT_LEASES_TABLE)} where webhook_id = ${webhookId} and slot = ${slot} and holder = ${holder}`.execute(this.db());
      } finally {
        // On a failed delete the lease still expires by itself; this process's own count is freed either way.
        releaseLocal();
        this.onRelease(webhookId);
      }
    };
  }
}
