/** One parked attempt: the job to reschedule, and whether its Agenda run has ended (so a save cannot race Agenda's own). */
interface Parked<J> {
  key: string;
  job: J;
  /** Agenda has saved the final state of the run that parked it. */
  settled: boolean;
  /** Still in line; false once picked to be woken (then woken as soon as it is settled). */
  queued: boolean;
}

/**
 * Deliver jobs that found every request slot of their webhook taken. They do not wait inside Agenda
 * (that would hold an Agenda slot other organizations need): the job ends at once, rescheduled far
 * ahead, and is remembered here per webhook, oldest first. Each slot released wakes the oldest parked
 * job of that webhook (`wake` reschedules it to now), so a busy webhook's backlog costs one job run
 * per freed slot instead of polling.
 *
 * A wake may only be applied once the parked job's Agenda run has ended (`settled`), because Agenda
 * writes the run's final state (nextRunAt) after the handler returns; a wake asked earlier is kept and
 * applied when the run settles.
 */
export class ParkedAttempts<J> {
  /** deliveryId → entry, for parked and for picked-but-not-yet-settled attempts. */
  private readonly entries = new Map<string, Parked<J>>();
  /** key → deliveryIds in line; Set order is parking order. */
  private readonly queues = new Map<string, Set<string>>();

  constructor(private readonly wake: (job: J) => void) {}

  /** Remembers `job` (attempt of `deliveryId`) as waiting for a slot of `key`; a delivery already in line keeps its place. */
  park(key: string, deliveryId: string, job: J): void {
    const existing = this.entries.get(deliveryId);
    if (existing?.queued) {
      Object.assign(existing, { job, settled: false });
      return;
    }
    this.entries.set(deliveryId, { key, job, settled: false, queued: true });
    let queue = this.queues.get(key);
    if (!queue) {
      queue = new Set();
      this.queues.set(key, queue);
    }
    queue.add(deliveryId);
  }

  /** Agenda finished the run of `job` (its final state is saved): a wake asked for meanwhile happens now. */
  settled(deliveryId: string, job: J): void {
    const entry = this.entries.get(deliveryId);
    if (!entry || entry.job !== job) return;
    if (entry.queued) {
      entry.settled = true;
    } else {
      this.entries.delete(deliveryId);
      this.wake(job);
    }
  }

  /** A slot of `key` freed: wakes its oldest parked job, at once or as soon as that job's run has settled; false when none was parked. */
  wakeNext(key: string): boolean {
    const queue = this.queues.get(key);
    const deliveryId = queue?.values().next().value;
    if (!queue || deliveryId === undefined) return false;
    queue.delete(deliveryId);
    if (queue.size === 0) this.queues.delete(key);
    const entry = this.entries.get(deliveryId)!;
    entry.queued = false;
    if (entry.settled) {
      this.entries.delete(deliveryId);
      this.wake(entry.job);
    }
    return true;
  }

  /** Forgets the parked attempt of a delivery that needs no wake any more (it got a slot, or was cancelled). */
  forget(deliveryId: string): void {
    const entry = this.entries.get(deliveryId);
    if (!entry) return;
    this.entries.delete(deliveryId);
    const queue = this.queues.get(entry.key);
    if (queue?.delete(deliveryId) && queue.size === 0) this.queues.delete(entry.key);
  }

  /** Empties the line and returns every parked job whose run has settled (shutdown hands them to other workers). */
  takeAllSettled(): J[] {
    const jobs = [...this.entries.values()].filter((entry) => entry.settled).map((entry) => entry.job);
    this.entries.clear();
    this.queues.clear();
    return jobs;
  }

  /** Attempts in line for `key` (for tests and metrics). */
  count(key: string): number {
    return this.queues.get(key)?.size ?? 0;
  }
}
