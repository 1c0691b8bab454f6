import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { AuditEvent } from './audit-event.entity.js';

/** Who did it. */
@InputType()
export class ActorInput {
  @Field(() => ID) id!: string;
  @Field(() => String, { nullable: true }) type?: string | null;
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) email?: string | null;
}

/** What it was done to, or within. */
@InputType()
export class AuditObjectInput {
  @Field(() => ID) id!: string;
  @Field(() => String) type!: string;
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => GraphQLJSONObject, { nullable: true }) attributes?: Record<string, unknown> | null;
}

/** Where from. */
@InputType()
export class LocationInput {
  @Field(() => String, { nullable: true }) ip?: string | null;
  @Field(() => String, { nullable: true }) geo?: string | null;
  @Field(() => String, { nullable: true }) countryName?: string | null;
  @Field(() => String, { nullable: true }) regionName?: string | null;
  @Field(() => String, { nullable: true }) city?: string | null;
}

/** One audit event to record. */
@InputType()
export class AuditEventInput {
  @Field(() => String) action!: string;
  @Field(() => Date, { nullable: true, description: 'Defaults to the time it is recorded.' }) time?: Date | null;
  @Field(() => ActorInput) actor!: ActorInput;
  @Field(() => [AuditObjectInput], { nullable: true }) context?: AuditObjectInput[] | null;
  @Field(() => [AuditObjectInput], { nullable: true }) container?: AuditObjectInput[] | null;
  @Field(() => LocationInput, { nullable: true }) location?: LocationInput | null;
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
