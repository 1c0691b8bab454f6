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
  description: 'Whether the webhook receives deliveries.',
  valuesConfig: {
    ACTIVE: { description: 'Receives deliveries.' },
    DISABLED: { description: 'Turned off after failing without a success for a long time, or after a 410 Gone; new events wait (for a while) and updateWebhook turns it back on.' },
  },
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
  [OptionalProps]?: 'status' | 'createdAt' | 'updatedAt' | 'activeOrganization' | 'authorizationSealed' | 'authorizationScheme' | 'authorizationUsername' | 'previousSigningSecretSealed' | 'previousSigningSecretExpiresAt' | 'removedAt' | 'lastAttemptAt' | 'lastSuccessAt' | 'lastFailureAt' | 'failingSince' | 'disabledAt' | 'disabledReason' | 'droppedBufferedEvents';

  @Field(() => ID, { description: 'The webhook id; a new registration gets a new id.' })
  @PrimaryKey({ type: 'string', length: 40 })
  id: string = newId('wh');

  @Field(() => ID, { name: 'organizationId', description: 'The organization the webhook belongs to.' })
  @ManyToOne({ entity: () => Organization, mapToPk: true, deleteRule: 'cascade', index: false })
  organization!: string;

  @Property({ type: 'string', length: 40, nullable: true, unique: 'webhooks_active_organization_uq' })
  activeOrganization: string | null = null;

  @Field(() => String, { description: 'The URL deliveries are POSTed to.' })
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

  @Field(() => WebhookStatus, { description: 'Whether the webhook receives deliveries.' })
  @Enum({ items: () => WebhookStatus })
  status: WebhookStatus = WebhookStatus.ACTIVE;

  @Field(() => Date, { description: 'When the webhook was registered (ISO 8601, UTC).' })
  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Field(() => Date, { description: 'When the webhook was last changed (ISO 8601, UTC).' })
  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  removedAt: Date | null = null;

  @Field(() => Date, { nullable: true, description: 'When the last delivery attempt started (ISO 8601, UTC); null if none yet.' })
  @Property({ type: 'datetime', nullable: true })
  lastAttemptAt: Date | null = null;

  @Field(() => Date, { nullable: true, description: 'When the last successful attempt finished (ISO 8601, UTC); null if none yet.' })
  @Property({ type: 'datetime', nullable: true })
  lastSuccessAt: Date | null = null;

  @Field(() => Date, { nullable: true, description: 'When the last failed attempt finished (ISO 8601, UTC); null if none yet.' })
  @Property({ type: 'datetime', nullable: true })
  lastFailureAt: Date | null = null;

  @Field(() => Date, { nullable: true, description: 'Start of the current unbroken run of failed attempts (ISO 8601, UTC); null after a success.' })
  @Property({ type: 'datetime', nullable: true })
  failingSince: Date | null = null;

  @Field(() => Date, { nullable: true, description: 'When it was turned off (ISO 8601, UTC); null while ACTIVE.' })
  @Property({ type: 'datetime', nullable: true })
  disabledAt: Date | null = null;

  @Field(() => String, { nullable: true, description: 'Why it was turned off, e.g. HTTP_410 or FAILING_SINCE_2026-11-20T10:00:00Z; null while ACTIVE.' })
  @Property({ type: 'string', length: 64, nullable: true })
  disabledReason: string | null = null;

  /** Events dropped from the outbox since it was disabled (older than AUDITHOOK_DISABLED_BUFFER); reported and reset on re-enable. */
  @Property({ type: 'integer', default: 0 })
  droppedBufferedEvents: number = 0;
}
