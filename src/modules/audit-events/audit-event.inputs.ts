import { Field, ID, InputType, ObjectType } from 'type-graphql';
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

/** Relay-style page info shared by every connection. */
@ObjectType()
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

/** One audit event with its cursor. */
@ObjectType()
export class AuditEventEdge {
  @Field(() => String) cursor!: string;
  @Field(() => AuditEvent) node!: AuditEvent;
}

/** A page of the audit log. */
@ObjectType()
export class AuditEventConnection {
  @Field(() => [AuditEventEdge]) edges!: AuditEventEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}
