import { OptionalProps } from '@mikro-orm/core';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { newId } from '../../lib/ids.js';
import type { ActorData, AuditObjectData, LocationData } from '../audit-events/audit-event.entity.js';
import { AuditEvent } from '../audit-events/audit-event.entity.js';
import { Organization } from '../organizations/organization.entity.js';
import { Webhook } from '../webhooks/webhook.entity.js';

/** EVENTS carries recorded audit events; TEST carries sample activities and is flagged so receivers can tell. */
export enum DeliveryKind {
  EVENTS = 'EVENTS',
  TEST = 'TEST',
}

/** The life of one request body: PENDING → (RETRYING →)* SUCCEEDED | FAILED, or CANCELLED when the webhook goes. */
export enum DeliveryStatus {
  PENDING = 'PENDING',
  RETRYING = 'RETRYING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}

/** Whether one HTTP attempt got a 2xx. */
export enum AttemptOutcome {
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
}

registerEnumType(DeliveryKind, {
  name: 'DeliveryKind',
  description: 'What a delivery carries.',
  valuesConfig: {
    EVENTS: { description: 'Recorded audit events.' },
    TEST: { description: 'Sample activities sent by testWebhook, flagged as a test; not in the audit log.' },
  },
});
registerEnumType(DeliveryStatus, {
  name: 'DeliveryStatus',
  description: 'Where a delivery stands.',
  valuesConfig: {
    PENDING: { description: 'Waiting for its first attempt.' },
    RETRYING: { description: 'At least one attempt failed; another is scheduled.' },
    SUCCEEDED: { description: 'An attempt got a 2xx response.' },
    FAILED: { description: 'Every attempt failed: the first and three retries.' },
    CANCELLED: { description: 'The webhook was removed before the delivery finished.' },
  },
});
registerEnumType(AttemptOutcome, {
  name: 'AttemptOutcome',
  description: 'How one HTTP attempt ended.',
  valuesConfig: {
    SUCCEEDED: { description: 'The receiver answered with a 2xx status.' },
    FAILED: { description: 'No 2xx response: another status, a timeout or a connection error.' },
  },
});

/** A sample activity carried by a TEST delivery; never stored in the audit log. */
export interface SampleEventData {
  id: string;
  time: string;
  action: string;
  actor: ActorData;
  context: AuditObjectData[];
  container: AuditObjectData[];
  location: LocationData | null;
  message: string | null;
}

/*
 * Relations here set `index: false`: each one leads a composite index declared on its entity (or the
 * primary key), so MikroORM's automatic single-column index would only add writes on the hot path.
 * delivery_attempts.webhook_id has none on purpose: webhooks are never hard-deleted.
 */

/** One request body (a batch of events) and its attempts; its id is the webhook-id header on every attempt. */
@ObjectType({ description: 'One request body sent to the webhook, with all its attempts.' })
@Entity({ tableName: 'deliveries' })
@Index({ name: 'deliveries_org_created_idx', properties: ['organization', 'createdAt', 'id'] })
@Index({ name: 'deliveries_webhook_status_idx', properties: ['webhook', 'status'] })
@Index({ name: 'deliveries_status_idx', properties: ['status'] })
@Index({ name: 'deliveries_completed_idx', properties: ['completedAt'] })
export class Delivery {
  [OptionalProps]?: 'status' | 'eventCount' | 'attemptCount' | 'maxAttempts' | 'createdAt' | 'completedAt' | 'sampleEvents';

  @Field(() => ID, { description: 'Also sent as the webhook-id header: the same on every attempt.' })
  @PrimaryKey({ type: 'string', length: 40 })
  id: string = newId('dlv');

  @ManyToOne({ entity: () => Organization, mapToPk: true, deleteRule: 'cascade', index: false })
  organization!: string;

  @Field(() => ID, { name: 'webhookId', description: 'The webhook the delivery is sent to.' })
  @ManyToOne({ entity: () => Webhook, mapToPk: true, deleteRule: 'cascade', index: false })
  webhook!: string;

  @Field(() => DeliveryKind, { description: 'Whether it carries audit events or test samples.' })
  @Enum({ items: () => DeliveryKind })
  kind!: DeliveryKind;

  @Field(() => DeliveryStatus, { description: 'Where the delivery stands.' })
  @Enum({ items: () => DeliveryStatus })
  status: DeliveryStatus = DeliveryStatus.PENDING;

  @Field(() => Int, { description: 'How many events the request body carries.' })
  @Property({ type: 'integer' })
  eventCount: number = 0;

  @Field(() => Int, { description: 'Attempts made so far in the current round (a redelivery starts again at 0).' })
  @Property({ type: 'integer' })
  attemptCount: number = 0;

  @Field(() => Int, { description: 'The most attempts a round makes: the first try plus the retries.' })
  @Property({ type: 'integer' })
  maxAttempts: number = 4;

  @Field(() => Date, { description: 'When the delivery was created (ISO 8601, UTC).' })
  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Field(() => Date, { nullable: true, description: 'When the delivery succeeded, failed for good or was cancelled (ISO 8601, UTC); null while unfinished.' })
  @Property({ type: 'datetime', nullable: true })
  completedAt: Date | null = null;

  /** Sample activities of a TEST delivery (EVENTS deliveries link audit events instead). */
  @Property({ type: 'json', nullable: true })
  sampleEvents: SampleEventData[] | null = null;
}

/** Which audit events a delivery carries, so a redelivery sends exactly the same batch. */
@Entity({ tableName: 'delivery_events' })
@Index({ name: 'delivery_events_event_idx', properties: ['event'] })
export class DeliveryEvent {
  @ManyToOne({ entity: () => Delivery, mapToPk: true, primary: true, deleteRule: 'cascade', index: false })
  delivery!: string;

  @ManyToOne({ entity: () => AuditEvent, mapToPk: true, primary: true, deleteRule: 'cascade', index: false })
  event!: string;

  @Property({ type: 'integer' })
  position!: number;
}

/** One request header as stored with an attempt (an Authorization value is stored as its scheme only). */
export interface HttpHeaderData {
  name: string;
  value: string;
}

/** One request header of an attempt, for DeliveryAttempt.requestHeaders. */
@ObjectType({ description: 'One HTTP header as sent; an Authorization value shows only its scheme.' })
export class HttpHeader {
  @Field(() => String, { description: 'The header name, lower case.' }) name!: string;
  @Field(() => String, { description: 'The value as sent; for `authorization`, only its scheme (e.g. `Basic`).' }) value!: string;
}

/** One HTTP request of a delivery, as the receiver answered it. */
@ObjectType({ description: 'One HTTP request of a delivery and how the receiver answered.' })
@Entity({ tableName: 'delivery_attempts' })
@Index({ name: 'delivery_attempts_delivery_idx', properties: ['delivery', 'attemptNumber'] })
@Index({ name: 'delivery_attempts_org_started_idx', properties: ['organization', 'startedAt'] })
export class DeliveryAttempt {
  [OptionalProps]?: 'statusCode' | 'error' | 'responseBody' | 'nextAttemptAt' | 'url' | 'requestHeaders';

  @Field(() => ID, { description: 'The attempt id.' })
  @PrimaryKey({ type: 'string', length: 40 })
  id: string = newId('att');

  @Field(() => ID, { name: 'deliveryId', description: 'The delivery this attempt belongs to.' })
  @ManyToOne({ entity: () => Delivery, mapToPk: true, deleteRule: 'cascade', index: false })
  delivery!: string;

  @Field(() => ID, { name: 'webhookId', description: 'The webhook the attempt was sent to.' })
  @ManyToOne({ entity: () => Webhook, mapToPk: true, deleteRule: 'cascade', index: false })
  webhook!: string;

  @ManyToOne({ entity: () => Organization, mapToPk: true, deleteRule: 'cascade', index: false })
  organization!: string;

  @Field(() => String, { description: 'The URL this attempt was sent to (after an edit, earlier attempts keep the earlier URL); returned in full like Webhook.url.' })
  @Property({ type: 'string', length: 2048, default: '' })
  url: string = '';

  /** The headers as sent, Authorization reduced to its scheme; null for attempts recorded before they were kept. */
  @Property({ type: 'json', nullable: true })
  requestHeaders: HttpHeaderData[] | null = null;

  @Field(() => Int, { description: '1 for the first try, up to 4 after three retries.' })
  @Property({ type: 'integer' })
  attemptNumber!: number;

  @Field(() => AttemptOutcome, { description: 'Whether the receiver answered with a 2xx status.' })
  @Enum({ items: () => AttemptOutcome })
  outcome!: AttemptOutcome;

  @Field(() => Int, { nullable: true, description: "The receiver's HTTP status; null when no response came." })
  @Property({ type: 'integer', nullable: true })
  statusCode: number | null = null;

  @Field(() => String, { nullable: true, description: 'Why it failed, e.g. TIMEOUT, CONNECTION_REFUSED, HTTP_503, DESTINATION_NOT_ALLOWED.' })
  @Property({ type: 'string', length: 64, nullable: true })
  error: string | null = null;

  @Field(() => String, { nullable: true, description: "The first 4 KiB of the receiver's response body." })
  @Property({ type: 'text', nullable: true })
  responseBody: string | null = null;

  @Field(() => Int, { description: 'How long the request took, in milliseconds.' })
  @Property({ type: 'integer' })
  durationMs!: number;

  @Field(() => Date, { description: 'When the request was sent (ISO 8601, UTC).' })
  @Property({ type: 'datetime' })
  startedAt!: Date;

  @Field(() => Boolean, { description: 'Whether another attempt of the delivery is scheduled after this one.' })
  @Property({ type: 'boolean' })
  willRetry!: boolean;

  @Field(() => Date, { nullable: true, description: 'When the next attempt is due (ISO 8601, UTC); null when there is none.' })
  @Property({ type: 'datetime', nullable: true })
  nextAttemptAt: Date | null = null;
}
