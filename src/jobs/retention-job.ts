import { setTimeout as sleep } from 'node:timers/promises';
import type { RetentionConfig } from '../config.js';
import type { Logger } from '../lib/logger.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import type { AuditEventRetention } from '../modules/audit-events/audit-event-retention.js';
import type { DeliveryRetention } from '../modules/deliveries/delivery-retention.js';

/** The recurring Agenda job that prunes old history (one job record shared by every process). */
export const PRUNE_JOB = 'prune-history';
/** Rows per prune transaction: small, so a writer (ingest, delivery) never waits long for the lock. */
export const PRUNE_BATCH_ROWS = 500;
/**
 * The least pause after each batch. Between pauses the write lock is free at least 4/5 of the time
 * (see pauseAfter), so writers on other connections (the job store, other processes), which retry a
 * busy lock every few ms up to 50 ms (sqlite-busy.ts), get it at their next try, and this process's
 * own requests run meanwhile.
 */
export const PRUNE_PAUSE_MS = 25;
/** One run stops after this long; the next run carries on, so a huge backlog never holds the job's lock for hours. */
export const PRUNE_RUN_MAX_MS = 5 * 60_000;
/** Agenda's lock on a running prune job: longer than a run may take. */
export const PRUNE_LOCK_LIFETIME_MS = PRUNE_RUN_MAX_MS + 60_000;

/** What one run removed, by table. */
export interface PruneSummary {
  deliveries: number;
  attempts: number;
  links: number;
  events: number;
  /** False when the run stopped early (time bound or shutdown) with more left to prune. */
  complete: boolean;
}

/** What the prune job needs; the composition root passes the modules' retention services. */
export interface RetentionJobOptions {
  config: RetentionConfig;
  deliveries: Pick<DeliveryRetention, 'pruneBatch'>;
  events: Pick<AuditEventRetention, 'pruneBatch'>;
  metrics: ServiceMetrics;
}

/**
 * Runs one prune: finished deliveries past AUDITHOOK_DELIVERY_RETENTION (with attempts and links),
 * then, when AUDITHOOK_EVENT_RETENTION is set, audit events past it. Each batch is one short
 * transaction followed by a pause (pauseAfter), so requests and other writers keep their pace.
 */
export async function runPrune(options: RetentionJobOptions, logger: Logger, stopping: () => boolean, now: Date = new Date()): Promise<PruneSummary> {
  const { config, metrics } = options;
  const startedAt = Date.now();
  const summary: PruneSummary = { deliveries: 0, attempts: 0, links: 0, events: 0, complete: true };
  const mayContinue = () => !stopping() && Date.now() - startedAt < PRUNE_RUN_MAX_MS;
  /** Pauses 4× as long as the batch took (at least PRUNE_PAUSE_MS): pruning holds the lock at most 1/5 of the time. */
  const pauseAfter = (batchStartedAt: number) => sleep(Math.max(PRUNE_PAUSE_MS, 4 * (Date.now() - batchStartedAt)));
  if (config.deliveryRetentionMs !== null) {
    const cutoff = new Date(now.getTime() - config.deliveryRetentionMs);
    for (;;) {
      const batchStartedAt = Date.now();
      const batch = await options.deliveries.pruneBatch(cutoff, PRUNE_BATCH_ROWS);
      metrics.rowsPruned('deliveries', batch.deliveries);
      metrics.rowsPruned('delivery_attempts', batch.attempts);
      metrics.rowsPruned('delivery_events', batch.links);
      summary.deliveries += batch.deliveries;
      summary.attempts += batch.attempts;
      summary.links += batch.links;
      if (batch.deliveries === 0) break;
      if (!mayContinue()) {
        summary.complete = false;
        break;
      }
      await pauseAfter(batchStartedAt);
    }
  }
  if (config.eventRetentionMs !== null && summary.complete) {
    const cutoff = new Date(now.getTime() - config.eventRetentionMs);
    for (;;) {
      const batchStartedAt = Date.now();
      const count = await options.events.pruneBatch(cutoff, PRUNE_BATCH_ROWS);
      metrics.rowsPruned('audit_events', count);
      summary.events += count;
      if (count < PRUNE_BATCH_ROWS) break;
      if (!mayContinue()) {
        summary.complete = false;
        break;
      }
      await pauseAfter(batchStartedAt);
    }
  }
  metrics.pruneCompleted(new Date());
  const pruned = summary.deliveries + summary.events > 0;
  if (pruned || !summary.complete) logger.info({ ...summary, durationMs: Date.now() - startedAt }, 'pruned old history');
  return summary;
}
