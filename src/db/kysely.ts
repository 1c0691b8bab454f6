import type { EntityManager } from '@mikro-orm/sqlite';
import type { Generated, Kysely } from 'kysely';

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
  /** The URL the attempt went to. */
  url: string;
  /** JSON list of { name, value }; Authorization as its scheme only. */
  request_headers: unknown;
}

/** webhooks: the columns the hot path reads or stamps. */
export interface WebhookRow {
  id: string;
  organization_id: string;
  active_organization: string | null;
  url: string;
  status: string;
  removed_at: Date | null;
  last_attempt_at: Date | null;
  last_success_at: Date | null;
  last_failure_at: Date | null;
  failing_since: Date | null;
  disabled_at: Date | null;
  disabled_reason: string | null;
  dropped_buffered_events: number;
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
 * A typed Kysely bound to `em` (its transaction, if any). Values go as they are: Date and boolean are
 * native to PostgreSQL and mapped by our SQLite dialect (as the ORM stores them); JSON columns take
 * JSON text (`json()`), which both dialects accept. No ORM plugin runs on the hot path.
 */
export function sqlOf(em: EntityManager): Kysely<HotPathDatabase> {
  return em.getKysely() as unknown as Kysely<HotPathDatabase>;
}

/** A JSON column's value as the ORM stores it (text; PostgreSQL casts it to json/jsonb). */
export function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** A unique-constraint violation from either dialect (SQLite's code or PostgreSQL's 23505). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505' || (error as Error)?.name === 'UniqueConstraintViolationException';
}

/** A JSON column as read back: SQLite gives text, PostgreSQL a parsed value. */
export function parsedJson(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}

/** A datetime column as read back: SQLite gives epoch milliseconds (as the ORM stores them), PostgreSQL a Date. */
export function dateOf(value: unknown): Date {
  return value instanceof Date ? value : new Date(value as number | string);
}
