import { Agenda, type Job, type JobWithId } from 'agenda';
import type { Kysely } from 'kysely';
import type { DeliveryConfig } from '../config.js';
import { NotificationChannels, type Notifications } from '../db/notifications.js';
import { createWebhookClient, type WebhookClient } from '../delivery/http-client.js';
import type { Logger } from '../lib/logger.js';
import type { DeliverySignals } from '../modules/deliveries/delivery-signals.js';
import { USER_AGENT, type AttemptFailure, type DeliveryPipeline } from '../modules/deliveries/delivery-pipeline.js';
import { PRUNE_JOB, PRUNE_LOCK_LIFETIME_MS, runPrune, type RetentionJobOptions } from './retention-job.js';
import type { JobBackend } from './job-backend.js';
import { JobUpkeep, UPKEEP_INTERVAL_MS } from './job-upkeep.js';
import { OutboxPump } from './outbox-pump.js';
import { ParkedAttempts } from './parked-attempts.js';
import { WebhookSlots } from './webhook-slots.js';

/**
 * The Agenda job that performs the next attempt of one delivery. It carries only which delivery and
 * (as Agenda's nextRunAt) when: the attempt number and status are the delivery's own history.
 */
export const DELIVER_JOB = 'deliver-webhook';
/** How often the outbox is swept for events whose notification was lost (crash, reconnect, another process on SQLite). */
const SWEEP_INTERVAL_MS = 5_000;
/** The sweep of a worker that hears no notifications from api processes (SQLite): it is their only signal. */
const SILENT_SWEEP_INTERVAL_MS = 1_000;
/**
 * How long a job stays locked by a worker that stopped touching it: a worker killed mid-request has
 * its jobs taken over by another after this. A running attempt touches its lock every
 * LOCK_TOUCH_INTERVAL_MS, so a request may take longer than this.
 */
export const LOCK_LIFETIME_MS = 10_000;
/** How often a running attempt renews its job's lock. */
const LOCK_TOUCH_INTERVAL_MS = 3_000;
/** A slot lease outlives the longest request by this much before a dead holder's slot is free again. */
const SLOT_LEASE_MARGIN_MS = 5_000;

/** How long SIGTERM waits for requests in flight before leaving them to the next start. */
export const SHUTDOWN_GRACE_MS = 10_000;
/**
 * How far ahead an attempt that found its webhook's slots all taken is rescheduled. It is normally
 * woken long before, by the release of a slot; this only bounds a lost wake (e.g. after a restart).
 */
export const PARKED_RECHECK_MS = 60_000;
/**
 * The same without cross-process notifications (SQLite): a slot released by another process on the
 * file wakes nothing here, so a parked attempt looks again this soon (a lease read, no request).
 */
export const SILENT_PARKED_RECHECK_MS = 5_000;

/** What one deliver job carries. */
export interface DeliverJobData {
  deliveryId: string;
  webhookId: string;
  /** Set by retryDelivery (ISO 8601): an admin asked for the planned retry now; history tells whether it was since made. */
  retryRequestedAt?: string;
}

/** Options of the runtime; tests shorten the timing through DeliveryConfig. */
export interface DeliveryRuntimeOptions {
  /** The job store, from createJobBackend (our SQLite backend or @agendajs/postgres-backend); the runtime closes it. */
  jobs: JobBackend;
  /** Kysely on the application database, for the per-webhook slot leases. */
  db: () => Kysely<any>;
  notifications: Notifications;
  /** false (role api): jobs are saved and workers notified, but this process runs no job and sends nothing. */
  deliver: boolean;
  /** This process's identity in logs and job locks (e.g. audithook-<pid>). */
  workerId: string;
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
  private readonly slots: WebhookSlots;
  private readonly parked: ParkedAttempts<Job<DeliverJobData>>;
  private readonly outbox: OutboxPump;
  /** Deliveries with an attempt running in this process: a second job run for one of them waits its turn. */
  private readonly attempting = new Set<string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly unsubscribe: (() => Promise<void>)[] = [];
  private processing = false;
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
    this.outbox = new OutboxPump(options.deliveries, config, (deliveryId, runAt, webhookId) => this.deliveryScheduled(deliveryId, runAt, webhookId), options.logger, () => this.stopping);
    this.slots = new WebhookSlots(options.db, config.webhookConcurrency, config.requestTimeoutMs + SLOT_LEASE_MARGIN_MS, (webhookId) => this.slotReleased(webhookId));
    this.agenda = new Agenda({
      backend: options.jobs.backend,
      name: options.workerId,
      processEvery: '1 second',
      // No shared cap on running jobs: a deliver job runs only as long as its own webhook's request,
      // and those are capped per webhook (this.slots). A shared cap let hanging receivers starve the rest.
      defaultConcurrency: Number.POSITIVE_INFINITY,
      maxConcurrency: Number.POSITIVE_INFINITY,
      // A job locked by a process that died becomes runnable again after this long (running ones are touched).
      defaultLockLifetime: LOCK_LIFETIME_MS,
    } as ConstructorParameters<typeof Agenda>[0]);
    this.agenda.define<DeliverJobData>(DELIVER_JOB, (job) => this.runDeliverJob(job), {
      concurrency: Number.POSITIVE_INFINITY,
      // No limit, and nothing waits locked: with unbounded concurrency a locked job runs at once (it sends,
      // capped per webhook, or parks and ends), and Agenda locks ahead only jobs due within processEvery.
      lockLimit: 0,
      lockLifetime: LOCK_LIFETIME_MS,
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

  /**
   * Delivering: starts processing, listens for queued events and freed slots of other processes,
   * and finds again whatever a previous process left unfinished. Not delivering (role api): only
   * connects, so jobs can be saved (the job store's channel tells the workers).
   */
  async start(): Promise<void> {
    const { jobs, notifications, deliver } = this.options;
    await jobs.connect(); // idempotent; connecting here makes a bad database a catchable error
    if (!deliver) {
      // Agenda connects its notification channel only in start(); an api process publishes on it without processing.
      await jobs.backend.notificationChannel?.connect();
      return;
    }
    await this.slots.ensureTable();
    await this.agenda.start();
    this.processing = true;
    // Payloads are "<sender> <webhook id>"; a process has already acted on what it sent itself.
    const fromOthers = (handler: (webhookId: string) => void) => (payload: string) => {
      const [from, webhookId] = payload.split(' ');
      if (from !== this.options.workerId && webhookId) handler(webhookId);
    };
    this.unsubscribe.push(await notifications.subscribe(NotificationChannels.eventsQueued, fromOthers((webhookId) => void this.outbox.pump(webhookId))));
    this.unsubscribe.push(await notifications.subscribe(NotificationChannels.slotReleased, fromOthers((webhookId) => void this.wakeIfRoom(webhookId))));
    // One job record for all processes; `every` updates its interval to this process's setting.
    if (this.options.retention) await this.agenda.every(this.options.retention.config.pruneIntervalMs, PRUNE_JOB);
    await this.recover();
    const sweepMs = notifications.crossProcess ? SWEEP_INTERVAL_MS : SILENT_SWEEP_INTERVAL_MS;
    const upkeep = new JobUpkeep(this.agenda, DELIVER_JOB, this.options.deliveries, this.options.logger);
    this.timers.push(setInterval(() => void this.outbox.sweep(), sweepMs), setInterval(() => void upkeep.run(), UPKEEP_INTERVAL_MS));
    for (const timer of this.timers) timer.unref();
  }

  /**
   * Stops taking jobs and hands back at once the jobs locked but not started (another worker takes them
   * now, not after the lock lifetime), waits up to the grace period for requests in flight, then lets go.
   */
  async stop(graceMs: number = SHUTDOWN_GRACE_MS): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    for (const unsubscribe of this.unsubscribe.splice(0)) await unsubscribe().catch(() => undefined);
    if (this.processing) {
      await this.unlockWaitingJobs();
      await this.handBackParked();
      try {
        await this.agenda.drain(graceMs);
      } catch (error) {
        this.options.logger.warn({ err: error }, 'delivery drain did not finish in time; unfinished deliveries resume at next start');
      }
      this.options.logger.debug('agenda drained');
    } else {
      await this.options.jobs.backend.notificationChannel?.disconnect().catch(() => undefined);
      await this.options.jobs.backend.disconnect().catch(() => undefined);
    }
    await this.agenda.stop().catch(() => undefined);
    await this.options.jobs.close().catch((error: unknown) => this.options.logger.warn({ err: error }, 'closing the job store failed'));
    this.options.logger.debug('agenda stopped');
    this.client.close();
  }

  /** For /healthz: which job backend runs and whether it answers. */
  async jobStoreStatus(): Promise<{ backend: string; ok: boolean }> {
    const ok = await this.options.jobs.check().catch(() => false);
    return { backend: this.options.jobs.name, ok };
  }

  /**
   * DeliverySignals: new events are in a webhook's outbox. A delivering process pumps it at once; the
   * notification reaches every worker (PostgreSQL), whichever process recorded the events.
   */
  eventsQueued(webhookId: string): void {
    if (this.processing) void this.outbox.pump(webhookId);
    if (this.processing && !this.options.notifications.crossProcess) return; // nobody else would hear it
    this.options.notifications.publish(NotificationChannels.eventsQueued, `${this.options.workerId} ${webhookId}`).catch((error: unknown) => {
      this.options.logger.warn({ err: error, webhookId }, 'could not notify workers of queued events; their sweep finds them');
    });
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
    const slot = await this.slots.tryAcquire(key, deliveryId);
    if (!slot.taken && slot.attempting) {
      // Another worker is attempting this delivery (it took over an expired lock, or this one did): try again shortly.
      job.schedule(new Date(Date.now() + 1_000));
      return;
    }
    if (!slot.taken) {
      // Every slot of this webhook is busy, in any worker: never wait here (that would hold Agenda for
      // everyone). No attempt is made or counted; the next release of this webhook's slot wakes the job.
      this.parked.park(key, deliveryId, job);
      const recheckMs = this.options.notifications.crossProcess ? PARKED_RECHECK_MS : SILENT_PARKED_RECHECK_MS;
      job.schedule(new Date(Date.now() + recheckMs)); // Agenda saves it as the run ends
      return;
    }
    this.parked.forget(deliveryId);
    this.attempting.add(deliveryId);
    // A request may outlast the lock lifetime: keep the lock, so no other worker takes the job meanwhile.
    const touch = setInterval(() => void job.touch().catch(() => undefined), LOCK_TOUCH_INTERVAL_MS);
    let result;
    try {
      result = await this.options.deliveries.attempt(deliveryId, (request) => this.client.send(request), retryRequestedAt ? new Date(retryRequestedAt) : null);
      // A success after failures opens the webhook's other slots: wake as many parked attempts to fill them.
      if ((result.ok || result.failure?.receiverFailed) && this.slots.recordOutcome(key, result.ok)) {
        for (let woken = 1; woken < this.slots.limitOf(key) && this.parked.wakeNext(key); woken++);
      }
    } finally {
      clearInterval(touch);
      this.attempting.delete(deliveryId);
      await slot.release().catch((error: unknown) => this.options.logger.warn({ err: error, webhookId }, 'could not release a request slot; its lease expires'));
    }
    if (result.attemptId) this.options.logger.debug({ deliveryId, attemptId: result.attemptId, worker: this.options.workerId }, 'attempt recorded');
    if (!result.ok && result.failure) this.logFailure(deliveryId, result.failure, result.retryAt);
    if (!result.ok && result.failure?.webhookDisabled) {
      const { webhookId: disabledId, redactedUrl, webhookDisabled } = result.failure;
      this.options.logger.warn({ webhookId: disabledId, url: redactedUrl, reason: webhookDisabled }, 'webhook disabled; its events wait in the outbox until it is updated');
    }
    // Agenda saves the run's end with this nextRunAt (and keeps the job); without one it removes it.
    if (!result.ok && result.retryAt) job.schedule(result.retryAt);
    if (webhookId) void this.outbox.pump(webhookId); // a slot freed: the next batch may go
  }

  /** A slot of `webhookId` was released here: a job parked here takes it, else the other workers are told. */
  private slotReleased(webhookId: string): void {
    if (this.wakeIfRoom(webhookId) || !this.options.notifications.crossProcess) return;
    this.options.notifications.publish(NotificationChannels.slotReleased, `${this.options.workerId} ${webhookId}`).catch(() => undefined);
  }

  /**
   * Wakes the oldest attempt parked here for `webhookId` if this process may start another request for
   * it now (a failing webhook, held to one at a time, may still have older requests in flight: a wake
   * then would only park the job again).
   */
  private wakeIfRoom(webhookId: string): boolean {
    if (this.slots.activeHere(webhookId) >= this.slots.limitOf(webhookId)) return false;
    return this.parked.wakeNext(webhookId);
  }

  /** Hands back the jobs this process locked ahead but has not started, so another worker runs them now. */
  private async unlockWaitingJobs(): Promise<void> {
    try {
      const processor = (this.agenda as unknown as { jobProcessor?: { stop(): { attrs: { _id: unknown } }[] } }).jobProcessor;
      const waiting = processor?.stop() ?? [];
      const ids = waiting.map((job) => job.attrs._id).filter((id) => id !== undefined);
      if (ids.length > 0) await this.options.jobs.backend.repository.unlockJobs(ids as never);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not hand back waiting jobs; they run after the lock lifetime');
    }
  }

  /** Parked attempts are due now, for whichever worker is free (they were rescheduled PARKED_RECHECK_MS ahead). */
  private async handBackParked(): Promise<void> {
    for (const job of this.parked.takeAllSettled()) {
      try {
        job.schedule(new Date());
        await job.save();
      } catch (error) {
        this.options.logger.warn({ err: error, deliveryId: job.attrs.data.deliveryId }, 'could not hand back a parked attempt; it runs at its recheck time');
      }
    }
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
    await this.outbox.sweep();
  }
}
