import { GraphQLJSONObject } from 'graphql-scalars';
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { AppError } from '../../lib/app-error.js';
import { Role } from '../roles.js';
import { AuditEvent } from '../audit-events/audit-event.entity.js';
import { admitSubscription, principalOf, type RequestContext } from '../request-context.js';
import { deliveryPayload } from './delivery-read-model.js';
import { Delivery, DeliveryAttempt, HttpHeader } from './delivery.entity.js';
import { DeliveryConnection, DeliveryFilter } from './delivery.inputs.js';

/** Delivery history, redelivery, and the live attempts subscription: admins only. */
@Resolver(() => Delivery)
export class DeliveryResolver {
  @Authorized(Role.ADMIN)
  @Query(() => DeliveryConnection, { description: 'Deliveries to the webhook, newest first.' })
  deliveries(
    @Arg('organizationId', () => ID, { description: "Your token's own organization id." }) organizationId: string,
    @Arg('filter', () => DeliveryFilter, { nullable: true, description: 'Narrows the list; omit for all deliveries.' }) filter: DeliveryFilter | null,
    @Arg('first', () => Int, { nullable: true, description: 'How many deliveries to return: default 50, at most 500.' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'Return the deliveries after this cursor (a previous page\'s `endCursor`); omit for the first page.' }) after: string | null,
    @Ctx() context: RequestContext,
  ): Promise<DeliveryConnection> {
    return context.services.deliveries.list(organizationId, filter, first, after);
  }

  @Authorized(Role.ADMIN)
  @Query(() => Delivery, { nullable: true, description: 'One delivery by id; null if the organization has no such delivery.' })
  delivery(@Arg('organizationId', () => ID, { description: "Your token's own organization id." }) organizationId: string, @Arg('id', () => ID, { description: 'The delivery id.' }) id: string, @Ctx() context: RequestContext): Promise<Delivery | null> {
    return context.services.deliveries.get(organizationId, id);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Delivery, { description: 'Sends a finished delivery again, same delivery id and events, with a fresh set of attempts.' })
  redeliver(@Arg('organizationId', () => ID, { description: "Your token's own organization id." }) _organizationId: string, @Arg('deliveryId', () => ID, { description: 'The id of the finished delivery to send again.' }) deliveryId: string, @Ctx() context: RequestContext): Promise<Delivery> {
    return context.services.deliveryOperations.redeliver(principalOf(context), deliveryId);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Delivery, { description: 'Runs the next attempt of a RETRYING delivery now; it counts as that attempt and the retry budget is unchanged.' })
  retryDelivery(@Arg('organizationId', () => ID, { description: "Your token's own organization id." }) _organizationId: string, @Arg('deliveryId', () => ID, { description: 'The id of the RETRYING delivery to attempt now.' }) deliveryId: string, @Ctx() context: RequestContext): Promise<Delivery> {
    return context.services.deliveryOperations.retryNow(principalOf(context), deliveryId);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Int, { description: 'Sends again, in the background, every FAILED delivery created at or after `since`; returns how many. Each goes round as `redeliver` sends it.' })
  recoverDeliveries(
    @Arg('organizationId', () => ID, { description: "Your token's own organization id." }) _organizationId: string,
    @Arg('since', () => Date, { description: 'Recover the FAILED deliveries created at or after this time (ISO 8601); must not be in the future.' }) since: Date,
    @Ctx() context: RequestContext,
  ): Promise<number> {
    return context.services.deliveryRecovery.recover(principalOf(context), since);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Delivery, { description: 'Sends a few aggregated sample activities to the webhook after a brief delay; returns that TEST delivery.' })
  testWebhook(@Arg('organizationId', () => ID, { description: "Your token's own organization id." }) _organizationId: string, @Ctx() context: RequestContext): Promise<Delivery> {
    return context.services.deliveryOperations.createTest(principalOf(context));
  }

  @Authorized(Role.ADMIN)
  @Subscription(() => DeliveryAttempt, {
    description: "Every delivery attempt of the organization's webhook, live, as it finishes.",
    subscribe: ({ args, context }) =>
      admitSubscription(context as RequestContext, (release) => (context as RequestContext).services.deliveries.feed.subscribe(String(args.organizationId), release)),
  })
  deliveryAttempts(@Arg('organizationId', () => ID, { description: "Your token's own organization id." }) _organizationId: string, @Root() attempt: DeliveryAttempt): DeliveryAttempt {
    return attempt;
  }

  @FieldResolver(() => [AuditEvent], { description: 'The events in the request body, in order; for a TEST delivery, its sample activities.' })
  events(@Root() delivery: Delivery, @Ctx() context: RequestContext): Promise<AuditEvent[]> {
    return context.loaders.events.load(delivery);
  }

  @FieldResolver(() => Date, { nullable: true, description: 'When the next attempt is due (ISO 8601, UTC); null when none is scheduled.' })
  nextAttemptAt(@Root() delivery: Delivery, @Ctx() context: RequestContext): Promise<Date | null> {
    return context.loaders.nextAttemptAt.load(delivery);
  }

  @FieldResolver(() => GraphQLJSONObject, { description: 'The JSON body the receiver gets (the same on every attempt), rebuilt from the delivery and its events.' })
  async payload(@Root() delivery: Delivery, @Ctx() context: RequestContext): Promise<Record<string, unknown>> {
    return JSON.parse(deliveryPayload(delivery, await context.loaders.events.load(delivery))) as Record<string, unknown>;
  }

  @FieldResolver(() => [DeliveryAttempt], { description: 'Every attempt of the delivery, newest first.' })
  attempts(@Root() delivery: Delivery, @Ctx() context: RequestContext): Promise<DeliveryAttempt[]> {
    return context.loaders.attempts.load(delivery);
  }
}

/** DeliveryAttempt.delivery. */
@Resolver(() => DeliveryAttempt)
export class DeliveryAttemptResolver {
  // Named apart from the entity's `delivery` column (exposed as deliveryId), which type-graphql would otherwise route here.
  @FieldResolver(() => Delivery, { name: 'delivery', description: 'The delivery this attempt belongs to.' })
  async deliveryOfAttempt(@Root() attempt: DeliveryAttempt, @Ctx() context: RequestContext): Promise<Delivery> {
    const delivery = await context.loaders.delivery.load({ organizationId: attempt.organization, id: attempt.delivery });
    if (!delivery) throw new AppError('NOT_FOUND', `delivery ${attempt.delivery} no longer exists`);
    return delivery;
  }

  @FieldResolver(() => [HttpHeader], { description: 'The request headers as sent, authorization reduced to its scheme; empty for attempts that sent nothing or were recorded before headers were kept.' })
  requestHeaders(@Root() attempt: DeliveryAttempt): HttpHeader[] {
    return (attempt.requestHeaders ?? []).map((header) => ({ name: header.name, value: header.value }));
  }
}
