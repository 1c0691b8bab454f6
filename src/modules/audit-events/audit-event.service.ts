import { isIP } from 'node:net';
import type { EntityManager, MikroORM } from '@mikro-orm/sql';
import { decodeCursor, pageSize, toPage, type Page } from '../../lib/paging.js';
import { isUniqueViolation, json, sqlOf, type AuditEventRow } from '../../db/kysely.js';
import { badInput } from '../../lib/app-error.js';
import { isId } from '../../lib/ids.js';
import { noMetrics, type ServiceMetrics } from '../../metrics/metrics.js';
import type { Principal } from '../auth.js';
import { principalActor, type OperatorPrincipal } from '../auth.js';
import { AuditEvent, type ActorData, type AuditObjectData, type LocationData } from './audit-event.entity.js';

/** The most events one recordAuditEvents call may carry. */
export const MAX_BATCH_EVENTS = 1000;
/** The largest event, serialized as JSON. */
export const MAX_EVENT_BYTES = 64 * 1024;
const ACTION_PATTERN = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/** An audit event as a client submits it (the GraphQL input, or an internal caller). */
export interface AuditEventInputData {
  action: string;
  time?: Date | null;
  actor: ActorData;
  context?: AuditObjectData[] | null;
  container?: AuditObjectData[] | null;
  location?: LocationData | null;
  message?: string | null;
  idempotencyKey?: string | null;
}

/** Filters of the audit-log listing. */
export interface AuditEventFilterData {
  action?: string | null;
  actorId?: string | null;
  from?: Date | null;
  to?: Date | null;
}

/** Where recorded events wait for the organization's webhook: the outbox module implements it (this module does not import it). */
export interface EventQueue {
  /** Queues events for a webhook inside the recording transaction. */
  enqueue(em: EntityManager, webhookId: string, eventIds: readonly string[], enqueuedAt: Date): Promise<void>;
}

/** Told after commit that a webhook's queue has new events (the job layer implements it). */
export interface EventQueueSignals {
  eventsQueued(webhookId: string): void;
}

/** Records and reads the audit log; recording also queues events for the organization's webhook. */
export class AuditEventService {
  constructor(
    private readonly orm: MikroORM,
    private readonly outbox: EventQueue,
    private readonly signals: () => EventQueueSignals,
    private readonly metrics: ServiceMetrics = noMetrics,
  ) {}

  /** recordAuditEvent: one event; a repeated idempotency key returns the first event. */
  async record(organizationId: string, input: AuditEventInputData): Promise<AuditEvent> {
    const [event] = await this.recordMany(organizationId, [input], (index, field) => `input${field ? '.' + field : ''}`);
    return event!;
  }

  /** recordAuditEvents: all or none, in one transaction. */
  async recordMany(
    organizationId: string,
    inputs: AuditEventInputData[],
    fieldOf: (index: number, field: string) => string = (index, field) => `inputs.${index}${field ? '.' + field : ''}`,
  ): Promise<AuditEvent[]> {
    if (inputs.length > MAX_BATCH_EVENTS) throw badInput(fieldOf(0, '').replace(/\.0$/, ''), `at most ${MAX_BATCH_EVENTS} events per call`);
    const validated = inputs.map((input, index) => validateEventInput(input, (field) => fieldOf(index, field)));
    for (let attempt = 0; ; attempt++) {
      try {
        const { events, webhookId, recorded } = await this.orm.em.fork().transactional((em) => this.insertEvents(em, organizationId, validated));
        this.metrics.eventsRecorded(recorded);
        if (webhookId) this.signals().eventsQueued(webhookId);
        return events;
      } catch (error) {
        // Two writers raced on one idempotency key: the second attempt finds the winner's event.
        if (isUniqueViolation(error) && attempt === 0) continue;
        throw error;
      }
    }
  }

  /** Records an event about audithook itself (webhook or token changes) inside the caller's transaction. */
  async recordSystemEvent(
    em: EntityManager,
    principal: Principal | OperatorPrincipal,
    event: { action: string; context: AuditObjectData[]; message: string },
  ): Promise<AuditEvent> {
    const { events, webhookId } = await this.insertEvents(em, principal.organizationId, [
      {
        action: event.action,
        time: new Date(),
        actor: principalActor(principal),
        context: event.context,
        container: [{ id: principal.organizationId, type: 'organization' }],
        location: null,
        message: event.message,
        idempotencyKey: null,
      },
    ]);
    if (webhookId) {
      const signals = this.signals();
      // Runs after the caller's transaction commits; a signal lost to a crash is found again at start-up.
      setImmediate(() => signals.eventsQueued(webhookId));
    }
    return events[0]!;
  }

  /**
   * The ingest hot path, inside the caller's transaction: a constant number of statements for any
   * number of events (idempotency look-up, one multi-row INSERT per 500 events, the webhook look-up,
   * the outbox INSERT), with no entity passing through the unit of work.
   */
  private async insertEvents(
    em: EntityManager,
    organizationId: string,
    inputs: Required<AuditEventInputData>[],
  ): Promise<{ events: AuditEvent[]; webhookId: string | null; recorded: number }> {
    const db = sqlOf(em);
    const keys = [...new Set(inputs.map((i) => i.idempotencyKey).filter((k): k is string => k !== null))];
    const existing = new Map<string, AuditEvent>();
    if (keys.length > 0) {
      for (const event of await em.find(AuditEvent, { organization: organizationId, idempotencyKey: { $in: keys } })) {
        existing.set(event.idempotencyKey!, event);
      }
    }
    const receivedAt = new Date();
    const created: AuditEvent[] = [];
    const events = inputs.map((input) => {
      const known = input.idempotencyKey ? existing.get(input.idempotencyKey) : undefined;
      if (known) return known;
      const event = Object.assign(new AuditEvent(), {
        organization: organizationId,
        time: input.time ?? receivedAt,
        action: input.action,
        actorId: input.actor.id,
        actor: input.actor,
        context: input.context ?? [],
        container: input.container ?? [],
        location: input.location,
        message: input.message,
        idempotencyKey: input.idempotencyKey,
        receivedAt,
      });
      if (input.idempotencyKey) existing.set(input.idempotencyKey, event);
      created.push(event);
      return event;
    });
    if (created.length === 0) return { events, webhookId: null, recorded: 0 };
    for (let i = 0; i < created.length; i += INSERT_CHUNK_EVENTS) {
      await db
        .insertInto('audit_events')
        .values(created.slice(i, i + INSERT_CHUNK_EVENTS).map(toRow))
        .execute();
    }
    const webhook = await db.selectFrom('webhooks').select('id').where('active_organization', '=', organizationId).executeTakeFirst();
    if (webhook) await this.outbox.enqueue(em, webhook.id, created.map((e) => e.id), receivedAt);
    return { events, webhookId: webhook?.id ?? null, recorded: created.length };
  }

  /** One event of the organization, or null. */
  async get(organizationId: string, id: string): Promise<AuditEvent | null> {
    if (!isId('evt', id)) return null;
    return this.orm.em.fork().findOne(AuditEvent, { id, organization: organizationId });
  }

  /** Events of the organization by ids, in the order asked (for delivery payloads and the Delivery.events field). */
  async getMany(organizationId: string, ids: string[]): Promise<AuditEvent[]> {
    if (ids.length === 0) return [];
    const rows = await this.orm.em.fork().find(AuditEvent, { id: { $in: ids }, organization: organizationId });
    const byId = new Map(rows.map((e) => [e.id, e]));
    return ids.map((id) => byId.get(id)).filter((e): e is AuditEvent => e !== undefined);
  }

  /** The newest-first audit log with filters and cursor paging. */
  async list(organizationId: string, filter: AuditEventFilterData | null | undefined, first: number | null | undefined, after: string | null | undefined): Promise<Page<AuditEvent>> {
    const limit = pageSize(first);
    const where: Record<string, unknown> = { organization: organizationId };
    const and: Record<string, unknown>[] = [];
    if (filter?.action) where.action = filter.action;
    if (filter?.actorId) where.actorId = filter.actorId;
    if (filter?.from && filter?.to && filter.from > filter.to) throw badInput('filter.from', 'from must not be after to');
    if (filter?.from) and.push({ time: { $gte: filter.from } });
    if (filter?.to) and.push({ time: { $lte: filter.to } });
    if (after) {
      const cursor = decodeCursor(after, 'evt');
      and.push({ $or: [{ time: { $lt: cursor.time } }, { time: cursor.time, id: { $lt: cursor.id } }] });
    }
    if (and.length > 0) where.$and = and;
    const rows = await this.orm.em.fork().find(AuditEvent, where, { orderBy: { time: 'desc', id: 'desc' }, limit: limit + 1 });
    return toPage(rows, limit, (e) => e.time);
  }
}

/** Rows per multi-row INSERT (12 parameters each): within both dialects' bound-parameter limits. */
const INSERT_CHUNK_EVENTS = 500;

function toRow(event: AuditEvent): AuditEventRow {
  return {
    id: event.id,
    organization_id: event.organization,
    time: event.time,
    action: event.action,
    actor_id: event.actorId,
    actor: json(event.actor),
    context: json(event.context),
    container: json(event.container),
    location: json(event.location),
    message: event.message,
    idempotency_key: event.idempotencyKey,
    received_at: event.receivedAt,
  };
}

function checkString(value: unknown, field: string, maxLength: number, options: { required?: boolean } = {}): string | null {
  if (value === undefined || value === null) {
    if (options.required) throw badInput(field, `${lastSegment(field)} is required`);
    return null;
  }
  if (typeof value !== 'string') throw badInput(field, `${lastSegment(field)} must be a string`);
  if (options.required && value.trim().length === 0) throw badInput(field, `${lastSegment(field)} must not be empty`);
  if (value.length > maxLength) throw badInput(field, `${lastSegment(field)} must be at most ${maxLength} characters`);
  return value;
}

function lastSegment(field: string): string {
  return field.split('.').at(-1) ?? field;
}

function checkObjects(values: AuditObjectData[] | null | undefined, field: string): AuditObjectData[] {
  if (values === undefined || values === null) return [];
  if (values.length > 100) throw badInput(field, `${lastSegment(field)} may hold at most 100 objects`);
  return values.map((value, index) => {
    const at = `${field}.${index}`;
    const object: AuditObjectData = {
      id: checkString(value.id, `${at}.id`, 256, { required: true })!,
      type: checkString(value.type, `${at}.type`, 128, { required: true })!,
    };
    const name = checkString(value.name, `${at}.name`, 1024);
    if (name !== null) object.name = name;
    if (value.attributes !== undefined && value.attributes !== null) {
      if (typeof value.attributes !== 'object' || Array.isArray(value.attributes)) throw badInput(`${at}.attributes`, 'attributes must be a JSON object');
      object.attributes = value.attributes;
    }
    return object;
  });
}

/** Validates and normalises one event; every failure names the path of the bad field. */
export function validateEventInput(input: AuditEventInputData, fieldOf: (field: string) => string): Required<AuditEventInputData> {
  const action = checkString(input.action, fieldOf('action'), 128, { required: true })!;
  if (!ACTION_PATTERN.test(action)) throw badInput(fieldOf('action'), 'action must be a snake_case key such as user_logged_in (lower-case letters, digits and single underscores, at most 128 characters)');
  if (input.time !== undefined && input.time !== null && Number.isNaN(input.time.getTime())) throw badInput(fieldOf('time'), 'time must be a valid date-time');
  if (!input.actor || typeof input.actor !== 'object') throw badInput(fieldOf('actor'), 'actor is required');
  const actor: ActorData = { id: checkString(input.actor.id, fieldOf('actor.id'), 256, { required: true })! };
  for (const key of ['type', 'name', 'email'] as const) {
    const value = checkString(input.actor[key], fieldOf(`actor.${key}`), 512);
    if (value !== null) actor[key] = value;
  }
  let location: LocationData | null = null;
  if (input.location) {
    location = {};
    for (const key of ['ip', 'geo', 'countryName', 'regionName', 'city'] as const) {
      const value = checkString(input.location[key], fieldOf(`location.${key}`), 256);
      if (value !== null) location[key] = value;
    }
    if (typeof location.ip === 'string' && isIP(location.ip) === 0) throw badInput(fieldOf('location.ip'), 'ip must be an IPv4 or IPv6 address');
  }
  const idempotencyKey = checkString(input.idempotencyKey, fieldOf('idempotencyKey'), 256);
  if (idempotencyKey !== null && idempotencyKey.length === 0) throw badInput(fieldOf('idempotencyKey'), 'idempotencyKey must not be empty');
  const event: Required<AuditEventInputData> = {
    action,
    time: input.time ?? null,
    actor,
    context: checkObjects(input.context, fieldOf('context')),
    container: checkObjects(input.container, fieldOf('container')),
    location,
    message: checkString(input.message, fieldOf('message'), MAX_EVENT_BYTES),
    idempotencyKey,
  };
  const bytes = Buffer.byteLength(JSON.stringify(event), 'utf8');
  if (bytes > MAX_EVENT_BYTES) throw badInput(fieldOf(''), `the event is ${bytes} bytes serialized; at most ${MAX_EVENT_BYTES} (64 KiB) are allowed`);
  return event;
}

