import { Field, InputType } from 'type-graphql';
import { connectionOf, type ConnectionShape } from '../connection.js';
import { Delivery, DeliveryKind, DeliveryStatus } from './delivery.entity.js';

/** Delivery filters; combined with AND. */
@InputType({ description: 'Delivery filters; all optional, combined with AND.' })
export class DeliveryFilter {
  @Field(() => DeliveryStatus, { nullable: true, description: 'Only deliveries with this status.' }) status?: DeliveryStatus | null;
  @Field(() => DeliveryKind, { nullable: true, description: 'Only deliveries of this kind.' }) kind?: DeliveryKind | null;
}

/** A page of deliveries. */
export const DeliveryConnection = connectionOf(Delivery, 'Delivery');
/** The value of a DeliveryConnection. */
export type DeliveryConnection = ConnectionShape<Delivery>;
