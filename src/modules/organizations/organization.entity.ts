import { OptionalProps } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Field, ID, ObjectType } from 'type-graphql';
import { newId } from '../../lib/ids.js';

/** The tenant: every token, event, webhook and delivery belongs to exactly one. */
@ObjectType({ description: 'An organization whose audit log audithook streams.' })
@Entity({ tableName: 'organizations' })
export class Organization {
  [OptionalProps]?: 'createdAt';

  @Field(() => ID, { description: 'The organization id.' })
  @PrimaryKey({ type: 'string', length: 40 })
  id: string = newId('org');

  @Field(() => String, { description: 'The display name of the organization.' })
  @Property({ type: 'string', length: 200 })
  name!: string;

  @Field(() => Date, { description: 'When the organization was created (ISO 8601, UTC).' })
  @Property({ type: 'datetime' })
  createdAt: Date = new Date();
}
