import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, InputType, ObjectType } from 'type-graphql';

/** Who performed an audited action; the same shape in (ActorInput) and out. */
@ObjectType({ description: 'Who performed an audited action.' })
@InputType('ActorInput', { description: 'Who performed an audited action.' })
export class Actor {
  @Field(() => ID, { description: 'Your id of the actor.' }) id!: string;
  @Field(() => String, { nullable: true, description: 'The kind of actor, e.g. user or service.' }) type?: string | null;
  @Field(() => String, { nullable: true, description: 'The display name of the actor.' }) name?: string | null;
  @Field(() => String, { nullable: true, description: 'The e-mail address of the actor.' }) email?: string | null;
}

/** A thing an action was done to (context) or within (container); also the input AuditObjectInput. */
@ObjectType({ description: 'A thing an action was done to (context) or within (container).' })
@InputType('AuditObjectInput', { description: 'A thing an action was done to (context) or within (container).' })
export class AuditObject {
  @Field(() => ID, { description: 'Your id of the object.' }) id!: string;
  @Field(() => String, { description: 'The kind of object, e.g. document or workspace.' }) type!: string;
  @Field(() => String, { nullable: true, description: 'The display name of the object.' }) name?: string | null;
  @Field(() => GraphQLJSONObject, { nullable: true, description: 'Any further details, as a JSON object.' }) attributes?: Record<string, unknown> | null;
}

/** Where an action came from; also the input LocationInput. */
@ObjectType({ description: 'Where an action came from.' })
@InputType('LocationInput', { description: 'Where an action came from.' })
export class Location {
  @Field(() => String, { nullable: true, description: 'The IPv4 or IPv6 address of the actor.' }) ip?: string | null;
  @Field(() => String, { nullable: true, description: 'A free-form geographic location, e.g. coordinates.' }) geo?: string | null;
  @Field(() => String, { nullable: true, description: 'The country name.' }) countryName?: string | null;
  @Field(() => String, { nullable: true, description: 'The region or state name.' }) regionName?: string | null;
  @Field(() => String, { nullable: true, description: 'The city name.' }) city?: string | null;
}
