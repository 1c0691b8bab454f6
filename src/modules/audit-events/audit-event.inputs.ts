import { Field, ID, InputType } from 'type-graphql';
import { connectionOf, type ConnectionShape } from '../connection.js';
import { AuditEvent } from './audit-event.entity.js';
import { Actor, AuditObject, Location } from './audit-event.types.js';

/** One audit event to record. */
@InputType()
export class AuditEventInput {
  @Field(() => String) action!: string;
  @Field(() => Date, { nullable: true, description: 'Defaults to the time it is recorded.' }) time?: Date | null;
  @Field(() => Actor) actor!: Actor;
  @Field(() => [AuditObject], { nullable: true }) context?: AuditObject[] | null;
  @Field(() => [AuditObject], { nullable: true }) container?: AuditObject[] | null;
  @Field(() => Location, { nullable: true }) location?: Location | null;
  @Field(() => String, { nullable: true }) message?: string | null;
  @Field(() => String, { nullable: true, description: 'Recording the same key again within the organization returns the first event instead of a new one.' })
  idempotencyKey?: string | null;
}

/** Audit-log filters; all optional, combined with AND. */
@InputType()
export class AuditEventFilter {
  @Field(() => String, { nullable: true }) action?: string | null;
  @Field(() => ID, { nullable: true }) actorId?: string | null;
  @Field(() => Date, { nullable: true }) from?: Date | null;
  @Field(() => Date, { nullable: true }) to?: Date | null;
}

/** A page of the audit log. */
export const AuditEventConnection = connectionOf(AuditEvent, 'AuditEvent');
/** The value of an AuditEventConnection. */
export type AuditEventConnection = ConnectionShape<AuditEvent>;
