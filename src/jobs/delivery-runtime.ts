import { Agenda, type Job, type JobWithId } from 'agenda';
import type { DeliveryConfig } from '../config.js';
import { createWebhookClient, type WebhookClient } from '../delivery/http-client.js';
import type { Logger } from '../lib/logger.js';
import type { DeliverySignals } from '../modules/deliveries/delivery-signals.js';
import { USER_AGENT, type AttemptFailure, type DeliveryPipeline } from '../modules/deliveries/delivery-pipeline.js';
import { KeyedSemaphore } from './keyed-semaphore.js';
import { ParkedAttempts } from './parked-attempts.js';
import { PRUNE_JOB, PRUNE_LOCK_LIFETIME_MS, runPrune, type RetentionJobOptions } from './retention-job.js';
import type { JobBackend } from './job-backend.js';

/**
 * The Agenda job that performs the next attempt of one delivery. It carries only which delivery and
 * (as Agenda's nextRunAt) when: the attempt number and status are the delivery's own history.
 */
export const DELIVER_JOB = 'deliver-webhook';
/** How often the outbox is swept for events whose in-process signal was lost (crash, other process). */
const SWEEP_INTERVAL_MS = 5_000;
/** How long SIGTERM waits for requests in flight before leaving them to the next start. */
export const SHUTDOWN_GRACE_MS = 10_000;
/**
 * How far ahead an attempt that found its webhook's slots all taken is rescheduled. It is normally
 * woken long before, by the release of a slot; this only bounds a lost wake (e.g. after a restart).
 */
export const PARKED_RECHECK_MS = 60_000;

/** What one deliver job carries. */
export interface DeliverJobData {
  deliveryId: string;
  webhookId: string;
  /** Set by retryDelivery (ISO 8601): an admin asked for the planned retry now; history tells whether it was since made. */
  retryRequestedAt?: string;
}

/** Options of the runtime; tests shorten the timing through DeliveryConfig. */
export interface DeliveryRuntimeOptions {
  /** Where the jobs are stored (createJobBackend: the application's own SQLite file or PostgreSQL database). */
  jobs: JobBackend;
  config: DeliveryConfig;
  allowPrivateDestinations: boolean;
  deliveries: DeliveryPipeline;
  logger: Logger;
  /** Replaces DNS for delivery connections; the connect-time destination check still applies. */
  resolveHost?: (hostname: string) => Promise<string[]>;
  /** The recurring prune of old history (retention-job.ts); absent, nothing is pruned. */
  retention?: RetentionJobOptions;
}

/**
 * Runs delivery in this process: Agenda (on the job backend of the database, see job-backend.ts) schedules and retries attempts,
 * a per-webhook pump turns outbox events into batches while the webhook has free request slots,
 * and a keyed semaphore caps requests in flight per webhook.
 *
 * Isolation between organizations: a webhook only ever uses its own AUDITHOOK_WEBHOOK_CONCURRENCY
 * slots, and nothing shared is held while waiting for one. A deliver job never waits for a slot: it
 * takes one at once or parks (see ParkedAttempts) and ends, so Agenda's own limits are lifted; what
 * bounds requests in flight is the per-webhook cap (webhooks × AUDITHOOK_WEBHOOK_CONCURRENCY).
 */
export class DeliveryRuntime implements DeliverySignals {
  private readonly agenda: Agenda;
  private readonly client: WebhookClient;
  private readonly slots: KeyedSemaphore;
  private readonly parked: ParkedAttempts<Job<DeliverJobData>>;
  private readonly pumping = new Set<string>();
  /** Deliveries with an attempt running in this process: a second job run for one of them waits its turn. */
  private readonly attempting = new Set<string>();
  private readonly jobs: JobBackend;
  private readonly pumpAgain = new Set<string>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private stopping = false;

  constructor(private readonly options: DeliveryRuntimeOptions) {
    const { config } = options;
    this.client = createWebhookClient({
      timeoutMs: config.requestTimeoutMs,
      allowPrivateDestinations: options.allowPrivateDestinations,
      userAgent: USER_AGENT,
      ...(options.resolveHost ? { resolveHost: options.resolveHost } : {}),
    });
    this.parked = new ParkedAttempts((job) => void this.wake(job));
    this.slots = new KeyedSemaphore(config.webhookConcurrency, (key) => this.parked.wakeNext(key));
    this.jobs = options.jobs;
    this.agenda = new Agenda({
      backend: this.jobs.backend,
      name: `audithook-${process.pid}`,
      processEvery: '1 second',
      // No shared cap on running jobs: a deliver job runs only as long as its own webhook's request,
      // and those are capped per webhook (this.slots). A shared cap let hanging receivers starve the rest.
      defaultConcurrency: Number.POSITIVE_INFINITY,
      maxConcurrency: Number.POSITIVE_INFINITY,
      // A job locked by a process that died becomes runnable again after this long.
      defaultLockLifetime: config.requestTimeoutMs * 2 + 5_000,
    } as ConstructorParameters<typeof Agenda>[0]);
    this.agenda.define<DeliverJobData>(DELIVER_JOB, (job) => this.runDeliverJob(job), {
      concurrency: Number.POSITIVE_INFINITY,
      lockLimit: 0, // no limit: a locked job either sends (capped per webhook) or parks at once
      lockLifetime: config.requestTimeoutMs * 2 + 5_000,
      removeOnComplete: true,
    });
    if (options.retention) {
      const retention = options.retention;
      this.agenda.define(PRUNE_JOB, async () => void (await runPrune(retention, options.logger, () => this.stopping)), {
        concurrency: 1,
        lockLifetime: PRUNE_LOCK_LIFETIME_MS,
      });
    }
    this.agenda.on('error', (error: unknown) => options.logger.error({ err: error }, 'agenda error'));
    // A parked job may be woken only once Agenda has saved the end of its run (else that save undoes the wake).
    this.agenda.on(`complete:${DELIVER_JOB}`, (job: JobWithId, remote?: false) => {
      if (remote) return; // another process's run: its parked jobs are its own
      this.parked.settled((job as Job<DeliverJobData>).attrs.data.deliveryId, job as Job<DeliverJobData>);
    });
  }

  /** Starts processing, and finds again whatever a previous process left unfinished. */
  async start(): Promise<void> {
    await this.jobs.connect(); // idempotent; connecting here makes a bad database path a catchable error
    await this.agenda.start();
    // One job record for all processes; `every` updates its interval to this process's setting.
    if (this.options.retention) await this.agenda.every(this.options.retention.config.pruneIntervalMs, PRUNE_JOB);
    await this.recover();
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  /** Stops taking jobs, waits up to the grace period for requests in flight, then lets go of the rest. */
  async stop(graceMs: number = SHUTDOWN_GRACE_MS): Promise<void> {
    this.stopping = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    try {
      await this.agenda.drain(graceMs);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'delivery drain did not finish in time; unfinished deliveries resume at next start');
    }
    this.options.logger.debug('agenda drained');
    await this.agenda.stop().catch(() => undefined);
    await this.jobs.close().catch((error: unknown) => this.options.logger.warn({ err: error }, 'closing the job store failed'));
    this.options.logger.debug('agenda stopped');
    this.client.close();
  }

  /** For /healthz: which job backend runs and whether it answers. */
  async jobStoreStatus(): Promise<{ backend: string; ok: boolean }> {
    const ok = await this.jobs.check().catch(() => false);
    return { backend: this.jobs.name, ok };
  }

  /** DeliverySignals: new events are in a webhook's outbox. */
  eventsQueued(webhookId: string): void {
    void this.pump(webhookId);
  }

  /** DeliverySignals: a delivery needs an attempt at runAt (pump, test, redeliver). */
  async deliveryScheduled(deliveryId: string, runAt: Date, webhookId: string): Promise<void> {
    await this.agenda
      .create<DeliverJobData>(DELIVER_JOB, { deliveryId, webhookId })
      .unique({ 'data.deliveryId': deliveryId }, { insertOnly: true })
      .schedule(runAt)
      .save();
  }

  /** DeliverySignals: retryDelivery: the delivery's job runs now, carrying when that was asked. */
  async retryRequested(deliveryId: string, webhookId: string, requestedAt: Date): Promise<void> {
    // Not insertOnly: the waiting job's run time and data are replaced (its lock, if running, is untouched).
    await this.agenda
      .create<DeliverJobData>(DELIVER_JOB, { deliveryId, webhookId, retryRequestedAt: requestedAt.toISOString() })
      .unique({ 'data.deliveryId': deliveryId })
      .schedule(requestedAt)
      .save();
  }

  /** DeliverySignals: cancelled deliveries need no job; their handler would find them CANCELLED anyway. */
  async deliveriesCancelled(deliveryIds: string[]): Promise<void> {
    for (const deliveryId of deliveryIds) {
      this.parked.forget(deliveryId);
      await this.agenda.cancel({ name: DELIVER_JOB, data: { deliveryId } }).catch(() => 0);
    }
  }

  /** DeliverySignals: a re-enabled webhook's held deliveries run now (an existing job is moved, not duplicated). */
  async deliveriesResumed(deliveryIds: string[], webhookId: string): Promise<void> {
    const now = new Date();
    for (const deliveryId of deliveryIds) {
      await this.agenda.create<DeliverJobData>(DELIVER_JOB, { deliveryId, webhookId }).unique({ 'data.deliveryId': deliveryId }).schedule(now).save();
    }
  }

  private async runDeliverJob(job: Job<DeliverJobData>): Promise<void> {
    const { deliveryId, webhookId, retryRequestedAt } = job.attrs.data;
    if (this.attempting.has(deliveryId)) {
      // Never two requests of one delivery at once; the attempt number check makes the retry a no-op if it was done.
      job.schedule(new Date(Date.now() + 1_000));
      await job.save();
      return;
    }
    if (this.stopping) {
      // Shutting down: leave the attempt to the next start rather than start a request now.
      job.schedule(new Date(Date.now() + 1_000));
      await job.save();
      return;
    }
    const key = webhookId || deliveryId;
    const release = this.slots.tryAcquire(key);
    if (!release) {
      // Every slot of this webhook is busy: never wait here (that would hold Agenda for everyone).
      // No attempt is made or counted; the next release of this webhook's slot wakes the job.
      this.parked.park(key, deliveryId, job);
      job.schedule(new Date(Date.now() + PARKED_RECHECK_MS)); // Agenda saves it as the run ends
      return;
    }
    this.parked.forget(deliveryId);
    this.attempting.add(deliveryId);
    let result;
    try {
      result = await this.options.deliveries.attempt(deliveryId, (request) => this.client.send(request), retryRequestedAt ? new Date(retryRequestedAt) : null);
    } finally {
      release();
      this.attempting.delete(deliveryId);
    }
    if (!result.ok && result.failure) this.logFailure(deliveryId, result.failure, result.retryAt);
    if (!result.ok && result.failure?.webhookDisabled) {
      const { webhookId: disabledId, redactedUrl, webhookDisabled } = result.failure;
      this.options.logger.warn({ webhookId: disabledId, url: redactedUrl, reason: webhookDisabled }, 'webhook disabled; its events wait in the outbox until it is updated');
    }
    // Agenda saves the run's end with this nextRunAt (and keeps the job); without one it removes it.
    if (!result.ok && result.retryAt) job.schedule(result.retryAt);
    if (webhookId) void this.pump(webhookId); // a slot freed: the next batch may go
  }

  /** Runs a parked job now: a slot of its webhook was released. Saving the job notifies Agenda at once. */
  private async wake(job: Job<DeliverJobData>): Promise<void> {
    if (this.stopping) return;
    try {
      job.schedule(new Date());
      await job.save(); // a removed (cancelled, completed) job is not resurrected by this save
    } catch (error) {
      this.options.logger.warn({ err: error, deliveryId: job.attrs.data.deliveryId }, `could not wake a parked delivery attempt; it runs within ${PARKED_RECHECK_MS} ms`);
    }
  }

  /** One line per failed attempt; the URL is redacted (query values may be receiver tokens), secrets never appear. */
  private logFailure(deliveryId: string, failure: AttemptFailure, retryAt: Date | null): void {
    const fields = { deliveryId, webhookId: failure.webhookId, attemptNumber: failure.attemptNumber, error: failure.error, statusCode: failure.statusCode, url: failure.redactedUrl, retryAt };
    if (failure.error === 'SECRET_UNREADABLE') {
      this.options.logger.error(
        { ...fields, detail: failure.detail },
        "cannot decrypt the webhook's stored secrets with AUDITHOOK_SECRET_KEY or AUDITHOOK_SECRET_KEY_PREVIOUS; nothing was sent",
      );
    } else {
      this.options.logger.warn(fields, 'delivery attempt failed');
    }
  }

  /**
   * Takes waiting events into deliveries while fewer than `webhookConcurrency` of the webhook's
   * deliveries await their first attempt: an idle webhook gets each event at once, a busy one gets
   * larger batches (up to maxBatchSize) as events pile up behind the requests in flight.
   */
  private async pump(webhookId: string): Promise<void> {
    if (this.stopping) return;
    if (this.pumping.has(webhookId)) {
      this.pumpAgain.add(webhookId);
      return;
    }
    this.pumping.add(webhookId);
    try {
      do {
        this.pumpAgain.delete(webhookId);
        let awaiting = await this.options.deliveries.countAwaitingFirstAttempt(webhookId);
        while (awaiting < this.options.config.webhookConcurrency && !this.stopping) {
          const delivery = await this.options.deliveries.takeBatch(webhookId);
          if (!delivery) break;
          await this.deliveryScheduled(delivery.id, delivery.runAt, webhookId);
          awaiting++;
          if (delivery.eventCount < this.options.config.maxBatchSize) break; // the outbox is empty
        }
      } while (this.pumpAgain.has(webhookId) && !this.stopping);
    } catch (error) {
      this.options.logger.error({ err: error, webhookId }, 'could not take queued events into a delivery; the sweep retries');
    } finally {
      this.pumping.delete(webhookId);
    }
  }

  private async sweep(): Promise<void> {
    try {
      for (const webhookId of await this.options.deliveries.webhooksWithPendingEvents()) void this.pump(webhookId);
    } catch (error) {
      this.options.logger.error({ err: error }, 'outbox sweep failed');
    }
    try {
      const dropped = await this.options.deliveries.dropExpiredBufferedEvents();
      if (dropped > 0) this.options.logger.warn({ events: dropped }, 'dropped events that waited longer than AUDITHOOK_DISABLED_BUFFER for a disabled webhook');
    } catch (error) {
      this.options.logger.error({ err: error }, 'dropping expired events of disabled webhooks failed; the next sweep retries');
    }
  }

  /**
   * Start-up: every unfinished delivery gets its job back, at the time the delivery itself says
   * (a job a previous process parked, PARKED_RECHECK_MS ahead, is not left waiting for that), and
   * every outbox is pumped.
   */
  private async recover(): Promise<void> {
    const unfinished = await this.options.deliveries.unfinished();
    for (const delivery of unfinished) {
      // Not insertOnly: an existing job's run time is set from the delivery (its lock is untouched).
      await this.agenda
        .create<DeliverJobData>(DELIVER_JOB, { deliveryId: delivery.id, webhookId: delivery.webhookId })
        .unique({ 'data.deliveryId': delivery.id })
        .schedule(delivery.runAt)
        .save();
    }
    if (unfinished.length > 0) this.options.logger.info({ deliveries: unfinished.length }, 'resuming unfinished deliveries');
    await this.sweep();
  }
}
