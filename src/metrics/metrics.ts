import type { MikroORM } from '@mikro-orm/sql';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { dateOf, sqlOf } from '../db/kysely.js';

/*
 * Prometheus metrics of one app. Counters are process-local and counted where the fact happens
 * (after its commit); the gauges about stored state (outbox, webhooks) are read from the database at
 * scrape time, so every process reports the same, right numbers. No label carries an organization
 * id, a webhook id or a URL: label values come from small fixed sets (kinds, statuses, error codes).
 */

/** What services report; the composition root passes the real one, the CLI and unit wiring get `noMetrics`. */
export interface ServiceMetrics {
  /** Events newly recorded through the API (idempotent repeats excluded), after their commit. */
  eventsRecorded(count: number): void;
  /** One HTTP attempt was recorded: outcome SUCCEEDED or FAILED, and its error code when it failed. */
  attemptFinished(outcome: string, error: string | null, durationMs: number): void;
  /** A delivery of a kind reached a final status (SUCCEEDED, FAILED or CANCELLED). */
  deliveryFinished(kind: string, status: string): void;
}

/** The app's metrics: what services report, GraphQL operations, and the registry the endpoint serves. */
export interface AppMetrics extends ServiceMetrics {
  registry: Registry;
  /** One GraphQL operation over HTTP finished; type is query/mutation/subscription, or unknown when it did not parse. */
  graphqlOperation(operationType: string | null, outcome: 'ok' | 'error'): void;
}

/** Reports nowhere (CLI commands, tests that build services directly). */
export const noMetrics: ServiceMetrics = {
  eventsRecorded: () => undefined,
  attemptFinished: () => undefined,
  deliveryFinished: () => undefined,
};

/** Attempt durations in seconds: from a fast receiver up to the longest request timeout worth having. */
const ATTEMPT_DURATION_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Webhook statuses reported even when none has them, so the series never vanish. */
const WEBHOOK_STATUSES = ['ACTIVE', 'DISABLED'] as const;

/** Creates a registry of its own (never prom-client's global one: one process may run several apps) with the default process metrics. */
export function createMetrics(orm: MikroORM): AppMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const db = () => sqlOf(orm.em.fork());

  const eventsRecorded = new Counter({
    name: 'audithook_events_recorded_total',
    help: 'Audit events newly recorded through the API (idempotent repeats are not counted).',
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'audithook_deliveries_total',
    help: 'Deliveries that reached a final status, by kind (EVENTS, TEST) and status (SUCCEEDED, FAILED, CANCELLED).',
    labelNames: ['kind', 'status'] as const,
    registers: [registry],
  });
  const attempts = new Counter({
    name: 'audithook_delivery_attempts_total',
    help: 'HTTP delivery attempts, by outcome (SUCCEEDED, FAILED) and error code (none when it succeeded).',
    labelNames: ['outcome', 'error'] as const,
    registers: [registry],
  });
  const attemptDuration = new Histogram({
    name: 'audithook_delivery_attempt_duration_seconds',
    help: 'Duration of HTTP delivery attempts.',
    buckets: ATTEMPT_DURATION_BUCKETS_SECONDS,
    registers: [registry],
  });
  const graphqlOperations = new Counter({
    name: 'audithook_graphql_operations_total',
    help: 'GraphQL operations over HTTP, by operation type and outcome (ok, error).',
    labelNames: ['operation_type', 'outcome'] as const,
    registers: [registry],
  });
  // The gauges below are read from the database at scrape time, so they hold across processes.
  new Gauge({
    name: 'audithook_outbox_events',
    help: 'Events waiting in the outbox, not yet taken into a delivery (all processes).',
    registers: [registry],
    async collect() {
      const row = await db().selectFrom('pending_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      this.set(Number(row.n));
    },
  });
  new Gauge({
    name: 'audithook_oldest_waiting_event_age_seconds',
    help: 'Age of the oldest event waiting in the outbox (0 when none waits).',
    registers: [registry],
    async collect() {
      const row = await db().selectFrom('pending_events').select((eb) => eb.fn.min('enqueued_at').as('oldest')).executeTakeFirst();
      const oldest = row?.oldest;
      this.set(oldest === null || oldest === undefined ? 0 : Math.max(0, (Date.now() - dateOf(oldest).getTime()) / 1000));
    },
  });
  new Gauge({
    name: 'audithook_webhooks',
    help: 'Registered (not removed) webhooks, by status (ACTIVE, DISABLED).',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const rows = await db()
        .selectFrom('webhooks')
        .select((eb) => ['status', eb.fn.countAll<number>().as('n')])
        .where('removed_at', 'is', null)
        .groupBy('status')
        .execute();
      const counts = new Map(rows.map((row) => [row.status, Number(row.n)]));
      for (const status of WEBHOOK_STATUSES) this.set({ status }, counts.get(status) ?? 0);
    },
  });

  return {
    registry,
    eventsRecorded: (count) => {
      if (count > 0) eventsRecorded.inc(count);
    },
    attemptFinished: (outcome, error, durationMs) => {
      attempts.inc({ outcome, error: error ?? 'none' });
      attemptDuration.observe(durationMs / 1000);
    },
    deliveryFinished: (kind, status) => deliveries.inc({ kind, status }),
    graphqlOperation: (operationType, outcome) => graphqlOperations.inc({ operation_type: operationType ?? 'unknown', outcome }),
  };
}
