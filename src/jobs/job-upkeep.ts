import type { Agenda } from 'agenda';
import type { Logger } from '../lib/logger.js';
import type { DeliveryPipeline } from '../modules/deliveries/delivery-pipeline.js';

/** How often a worker looks after the job store (leftover rows, deliveries without a job). */
export const UPKEEP_INTERVAL_MS = 5_000;
/** A delivery overdue by this much has no live job (a job's lock expires after 10 s): it gets one again. */
export const OVERDUE_AFTER_MS = 15_000;
/** Finished job rows are removed once they ended this long ago (a redelivery re-saving one right now is left alone). */
const LEFTOVER_AGE_MS = 60_000;
/** Rows handled per round, so one round stays short. */
const ROUND_LIMIT = 500;

/**
 * What a worker does every UPKEEP_INTERVAL_MS so no process's death leaves work behind:
 * - a delivery whose job was never saved (its batch was taken by a worker killed before it saved the
 *   job) or was lost gets its job again (insert-only: a job that exists, locked or not, is untouched);
 * - finished job rows that their run's removal missed (a crash between finish and remove) are deleted.
 */
export class JobUpkeep {
  private running = false;

  constructor(
    private readonly agenda: Agenda,
    private readonly jobName: string,
    private readonly deliveries: DeliveryPipeline,
    private readonly logger: Logger,
  ) {}

  /** One round; rounds never overlap. */
  async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.resumeOverdue();
      await this.removeLeftovers();
    } catch (error) {
      this.logger.warn({ err: error }, 'job store upkeep failed; the next round tries again');
    } finally {
      this.running = false;
    }
  }

  private async resumeOverdue(): Promise<void> {
    const overdue = await this.deliveries.unfinished(new Date(Date.now() - OVERDUE_AFTER_MS), ROUND_LIMIT);
    for (const delivery of overdue) {
      await this.agenda
        .create(this.jobName, { deliveryId: delivery.id, webhookId: delivery.webhookId })
        .unique({ 'data.deliveryId': delivery.id }, { insertOnly: true })
        .schedule(new Date())
        .save();
    }
  }

  private async removeLeftovers(): Promise<void> {
    const endedBefore = Date.now() - LEFTOVER_AGE_MS;
    const { jobs } = await this.agenda.queryJobs({ name: this.jobName, state: 'completed', limit: ROUND_LIMIT });
    const ids = jobs.filter((job) => job.lastFinishedAt && new Date(job.lastFinishedAt).getTime() < endedBefore).map((job) => String(job._id));
    if (ids.length > 0) await this.agenda.cancel({ ids });
  }
}
