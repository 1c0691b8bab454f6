import { OptionalProps } from '@mikro-orm/core';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { newId } from '../../lib/ids.js';
import { Organization } from '../organizations/organization.entity.js';

/** DISABLED exists so a long-dead receiver can be switched off without losing its settings. */
export enum WebhookStatus {
  ACTIVE = 'ACTIVE',
  DISABLED = 'DISABLED',
}

registerEnumType(WebhookStatus, {
  name: 'WebhookStatus',
  valuesConfig: { DISABLED: { description: 'Turned off after failing without a success for a long time; updateWebhook turns it back on.' } },
});

/**
 * The organization's one receiver. Removed registrations are kept (removedAt set) so their
 * deliveries keep a valid webhook id; `activeOrganization` carries the organization id only while
 * the registration is live, and its unique constraint is what enforces one webhook per organization.
 */
@ObjectType({ description: "The organization's registered audit-log webhook." })
@Entity({ tableName: 'webhooks' })
@Index({ properties: ['organization', 'createdAt'] })
export class Webhook {
  [OptionalProps]?: 'status' | 'createdAt' | 'updatedAt' | 'activeOrganization' | 'authorizationSealed' | 'authorizationScheme' | 'authorizationUsername' | 'previousSigningSecretSealed' | 'previousSigningSecretExpiresAt' | 'removedAt' | 'lastAttemptAt' | 'lastSuccessAt' | 'lastFailureAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'string', length: 40 })
  id: string = newId('wh');

  @Field(() => ID, { name: 'organizationId' })
  @ManyToOne({ entity: () => Organization, mapToPk: true, deleteRule: 'cascade', index: false })
  organization!: string;

  @Property({ type: 'string', length: 40, nullable: true, unique: 'webhooks_active_organization_uq' })
  activeOrganization: string | null = null;

  @Field(() => String)
  @Property({ type: 'string', length: 2048 })
  url!: string;

  /** Sealed whole Authorization header value. */
  @Property({ type: 'text', nullable: true })
  authorizationSealed: string | null = null;

  @Property({ type: 'string', length: 64, nullable: true })
  authorizationScheme: string | null = null;

  @Property({ type: 'string', length: 512, nullable: true })
  authorizationUsername: string | null = null;

  @Property({ type: 'text' })
  signingSecretSealed!: string;

  @Property({ type: 'text', nullable: true })
  previousSigningSecretSealed: string | null = null;

  @Property({ type: 'datetime', nullable: true })
  previousSigningSecretExpiresAt: Date | null = null;

  @Field(() => WebhookStatus)
  @Enum({ items: () => WebhookStatus })
  status: WebhookStatus = WebhookStatus.ACTIVE;

  @Field(() => Date)
  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Field(() => Date)
  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  removedAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'datetime', nullable: true })
  lastAttemptAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'datetime', nullable: true })
  lastSuccessAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'datetime', nullable: true })
  lastFailureAt: Date | null = null;
}
