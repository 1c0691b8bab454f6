import { Field, ID, InputType } from 'type-graphql';
import { connectionOf, type ConnectionShape } from '../connection.js';
import { AuditEvent } from './audit-event.entity.js';
import { Actor, AuditObject, Location } from './audit-event.types.js';

/** One audit event to record. */
@InputType({ description: 'One audit event to record.' })
export class AuditEventInput {
  @Field(() => String, { description: 'A snake_case action key of at most 128 characters, e.g. user_logged_in.' }) action!: string;
  @Field(() => Date, { nullable: true, description: 'Defaults to the time it is recorded.' }) time?: Date | null;
  @Field(() => Actor, { description: 'Who performed the action.' }) actor!: Actor;
  @Field(() => [AuditObject], { nullable: true, description: 'What the action was done to (at most 100 objects).' }) context?: AuditObject[] | null;
  @Field(() => [AuditObject], { nullable: true, description: 'Where it was done, e.g. site, product or workspace (at most 100 objects).' }) container?: AuditObject[] | null;
  @Field(() => Location, { nullable: true, description: 'Where the action came from.' }) location?: Location | null;
  @Field(() => String, { nullable: true, description: 'A human-readable summary of the action.' }) message?: string | null;
  @Field(() => String, { nullable: true, description: 'Recording the same key again within the organization returns the first event instead of a new one.' })
  idempotencyKey?: string | null;
}

/** Audit-log filters; all optional, combined with AND. */
@InputType({ description: 'Audit-log filters; all optional, combined with AND.' })
export class AuditEventFilter {
  @Field(() => String, { nullable: true, description: 'Only events with this action key.' }) action?: string | null;
  @Field(() => ID, { nullable: true, description: 'Only events whose actor has this id.' }) actorId?: string | null;
  @Field(() => Date, { nullable: true, description: 'Only events whose time is at or after this instant (inclusive).' }) from?: Date | null;
  @Field(() => Date, { nullable: true, description: 'Only events whose time is at or before this instant (inclusive); must not be before `from`.' }) to?: Date | null;
}

/** A page of the audit log. */
export const AuditEventConnection = connectionOf(AuditEvent, 'AuditEvent');
/** The value of an AuditEventConnection. */
export type AuditEventConnection = ConnectionShape<AuditEvent>;
