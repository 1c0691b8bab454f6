import type { EntityManager } from '@mikro-orm/sql';
import { PostgresAdapter, type Generated, type Kysely, type SelectQueryBuilder } from 'kysely';

/*
 * Row types of the tables the hot path writes with set-based SQL (ingest, outbox, delivery,
 * attempt). The ORM entities stay the source of the schema and migrations; these only type the
 * queries. Values are JavaScript values: the ORM's Kysely plugin converts them for either dialect.
 */

/** audit_events, as inserted by the ingest path. */
export interface AuditEventRow {
  id: string;
  organization_id: string;
  time: Date;
  action: string;
  actor_id: string;
  actor: unknown;
  context: unknown;
  container: unknown;
  location: unknown;
  message: string | null;
  idempotency_key: string | null;
  received_at: Date;
}

/** pending_events: the outbox. */
export interface PendingEventRow {
  event_id: string;
  webhook_id: string;
  enqueued_at: Date;
}

/** deliveries, as created by the pipeline. */
export interface DeliveryRow {
  id: string;
  organization_id: string;
  webhook_id: string;
  kind: string;
  status: Generated<string>;
  event_count: number;
  attempt_count: Generated<number>;
  max_attempts: number;
  next_attempt_at: Date | null;
  created_at: Date;
  completed_at: Date | null;
  sample_events: unknown;
}

/** delivery_events: which events a delivery carries, in order. */
export interface DeliveryEventRow {
  delivery_id: string;
  event_id: string;
  position: number;
}

/** delivery_attempts: one row per HTTP attempt. */
export interface DeliveryAttemptRow {
  id: string;
  delivery_id: string;
  webhook_id: string;
  organization_id: string;
  attempt_number: number;
  outcome: string;
  status_code: number | null;
  error: string | null;
  response_body: string | null;
  duration_ms: number;
  started_at: Date;
  will_retry: boolean;
  next_attempt_at: Date | null;
}

/** webhooks: the columns the hot path reads or stamps. */
export interface WebhookRow {
  id: string;
  organization_id: string;
  active_organization: string | null;
  status: string;
  removed_at: Date | null;
  last_attempt_at: Date | null;
  last_success_at: Date | null;
  last_failure_at: Date | null;
}

/** The tables of the set-based hot path. */
export interface HotPathDatabase {
  audit_events: AuditEventRow;
  pending_events: PendingEventRow;
  deliveries: DeliveryRow;
  delivery_events: DeliveryEventRow;
  delivery_attempts: DeliveryAttemptRow;
  webhooks: WebhookRow;
}

/**
 * A typed Kysely bound to `em` (its transaction, if any): our SQLite dialect on SQLite, MikroORM's
 * PostgreSQL (pg) dialect on PostgreSQL. Values go as they are: Date and boolean are native to
 * PostgreSQL (timestamptz, boolean) and mapped by our SQLite dialect (epoch ms, 0/1, as the ORM stores
 * them); JSON columns take JSON text (`json()`), which jsonb accepts. No ORM plugin runs on the hot path.
 */
export function sqlOf(em: EntityManager): Kysely<HotPathDatabase> {
  return em.getKysely() as unknown as Kysely<HotPathDatabase>;
}

/** Whether `em` runs on PostgreSQL (for the few statements that differ, e.g. FOR UPDATE SKIP LOCKED). */
export function isPostgres(em: EntityManager): boolean {
  return em.getKysely().getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * Makes a row-claiming subquery skip rows another transaction has locked, so concurrent claimers each
 * take different rows and none waits: FOR UPDATE SKIP LOCKED on PostgreSQL. SQLite needs nothing (its
 * write transactions run one at a time, BEGIN IMMEDIATE), so the query is left as it is there.
 */
export function skippingLockedRows(em: EntityManager): <DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>) => SelectQueryBuilder<DB, TB, O> {
  return isPostgres(em) ? (query) => query.forUpdate().skipLocked() : (query) => query;
}

/** A JSON column's value as the ORM stores it: JSON text, which PostgreSQL takes into jsonb and SQLite keeps. */
export function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** A unique-constraint violation from either dialect (SQLite's code or PostgreSQL's 23505). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505' || (error as Error)?.name === 'UniqueConstraintViolationException';
}

/**
 * A JSON column as read back: SQLite gives its text, PostgreSQL (jsonb) the parsed value. The hot
 * path's JSON columns hold objects and arrays only, so a string is always SQLite's text.
 */
export function parsedJson(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}

/**
 * A datetime column as read back: SQLite gives epoch milliseconds (as the ORM stores them); PostgreSQL
 * timestamptz text such as `2026-11-26 09:30:00.123+00` (MikroORM keeps it as text), or a Date.
 */
export function dateOf(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'number' || typeof value === 'bigint') return new Date(Number(value));
  const text = String(value);
  if (/^\d+$/.test(text)) return new Date(Number(text));
  // ISO 8601 needs the T and a [+-]hh:mm offset; PostgreSQL writes a space and may write +hh or +hh:mm:ss.
  const iso = text.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00').replace(/([+-]\d\d:\d\d):\d\d$/, '$1');
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new Error(`not a timestamp: ${text}`);
  return date;
}
