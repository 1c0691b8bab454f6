import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, InputType, ObjectType } from 'type-graphql';

/** Who performed an audited action; the same shape in (ActorInput) and out. */
@ObjectType()
@InputType('ActorInput')
export class Actor {
  @Field(() => ID) id!: string;
  @Field(() => String, { nullable: true }) type?: string | null;
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) email?: string | null;
}

/** A thing an action was done to (context) or within (container); also the input AuditObjectInput. */
@ObjectType()
@InputType('AuditObjectInput')
export class AuditObject {
  @Field(() => ID) id!: string;
  @Field(() => String) type!: string;
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => GraphQLJSONObject, { nullable: true }) attributes?: Record<string, unknown> | null;
}

/** Where an action came from; also the input LocationInput. */
@ObjectType()
@InputType('LocationInput')
export class Location {
  @Field(() => String, { nullable: true }) ip?: string | null;
  @Field(() => String, { nullable: true }) geo?: string | null;
  @Field(() => String, { nullable: true }) countryName?: string | null;
  @Field(() => String, { nullable: true }) regionName?: string | null;
  @Field(() => String, { nullable: true }) city?: string | null;
}
