import { OptionalProps } from '@mikro-orm/core';
import { Entity, Index, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/decorators/legacy';
import { Field, ID, ObjectType } from 'type-graphql';
import { newId } from '../../lib/ids.js';
import { Organization } from '../organizations/organization.entity.js';
import { Actor, AuditObject, Location } from './audit-event.types.js';

/** Who did it; stored as JSON beside an indexed copy of its id. */
export interface ActorData {
  id: string;
  type?: string | null;
  name?: string | null;
  email?: string | null;
}

/** An object acted on (context) or acted within (container). */
export interface AuditObjectData {
  id: string;
  type: string;
  name?: string | null;
  attributes?: Record<string, unknown> | null;
}

/** Where it was done from. */
export interface LocationData {
  ip?: string | null;
  geo?: string | null;
  countryName?: string | null;
  regionName?: string | null;
  city?: string | null;
}

/** One audit-log record; immutable once stored, and the unit a receiver de-duplicates by. */
@ObjectType({ description: 'One audit-log record.' })
@Entity({ tableName: 'audit_events' })
@Index({ name: 'audit_events_org_time_idx', properties: ['organization', 'time', 'id'] })
@Index({ name: 'audit_events_org_action_idx', properties: ['organization', 'action', 'time'] })
@Index({ name: 'audit_events_org_actor_idx', properties: ['organization', 'actorId', 'time'] })
@Index({ name: 'audit_events_received_idx', properties: ['receivedAt'] })
@Unique({ name: 'audit_events_org_idempotency_key_uq', properties: ['organization', 'idempotencyKey'] })
export class AuditEvent {
  [OptionalProps]?: 'context' | 'container' | 'location' | 'message' | 'idempotencyKey' | 'receivedAt';

  @Field(() => ID, { description: 'The event id.' })
  @PrimaryKey({ type: 'string', length: 40 })
  id: string = newId('evt');

  @Field(() => ID, { name: 'organizationId', description: 'The organization the event belongs to.' })
  @ManyToOne({ entity: () => Organization, mapToPk: true, deleteRule: 'cascade', index: false })
  organization!: string;

  @Field(() => Date, { description: 'When the action happened (ISO 8601, UTC).' })
  @Property({ type: 'datetime' })
  time!: Date;

  @Field(() => String, { description: 'A snake_case action key, e.g. user_logged_in.' })
  @Property({ type: 'string', length: 128 })
  action!: string;

  @Property({ type: 'string', length: 256 })
  actorId!: string;

  @Field(() => Actor, { description: 'Who performed the action.' })
  @Property({ type: 'json' })
  actor!: ActorData;

  @Field(() => [AuditObject], { description: 'What the action was done to.' })
  @Property({ type: 'json' })
  context: AuditObjectData[] = [];

  @Field(() => [AuditObject], { description: 'Where it was done (site, product, workspace).' })
  @Property({ type: 'json' })
  container: AuditObjectData[] = [];

  @Field(() => Location, { nullable: true, description: 'Where the action came from; null when not recorded.' })
  @Property({ type: 'json', nullable: true })
  location: LocationData | null = null;

  @Field(() => String, { nullable: true, description: 'A human-readable summary of the action; null when not recorded.' })
  @Property({ type: 'text', nullable: true })
  message: string | null = null;

  @Property({ type: 'string', length: 256, nullable: true })
  idempotencyKey: string | null = null;

  @Field(() => Date, { description: 'When audithook recorded the event (ISO 8601, UTC).' })
  @Property({ type: 'datetime' })
  receivedAt: Date = new Date();
}
