import { OptionalProps } from '@mikro-orm/core';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Field, ID, ObjectType } from 'type-graphql';
import { newId } from '../../lib/ids.js';
import { Organization } from '../organizations/organization.entity.js';
import { Role } from '../roles.js';

export { Role };

/** A bearer credential; only the SHA-256 of its secret is kept, so a leaked database holds no usable token. */
@ObjectType({ description: 'An API token of the organization; its secret is never shown again after creation.' })
@Entity({ tableName: 'api_tokens' })
@Index({ properties: ['organization', 'createdAt'] })
export class ApiToken {
  [OptionalProps]?: 'createdAt' | 'label' | 'lastUsedAt' | 'revokedAt';

  @Field(() => ID, { description: 'The token id (not its secret).' })
  @PrimaryKey({ type: 'string', length: 40 })
  id: string = newId('tok');

  @ManyToOne({ entity: () => Organization, mapToPk: true, deleteRule: 'cascade', index: false })
  organization!: string;

  @Property({ type: 'string', length: 64, unique: true })
  tokenHash!: string;

  @Field(() => Role, { description: 'What the token may do.' })
  @Enum({ items: () => Role })
  role!: Role;

  @Field(() => String, { nullable: true, description: 'A free-text note for people; null when none was given.' })
  @Property({ type: 'string', length: 200, nullable: true })
  label: string | null = null;

  @Field(() => Date, { description: 'When the token was created (ISO 8601, UTC).' })
  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Field(() => Date, { nullable: true, description: 'When the token was last used, to within a minute (ISO 8601, UTC); null if never.' })
  @Property({ type: 'datetime', nullable: true })
  lastUsedAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  revokedAt: Date | null = null;
}
