import { Field, InputType, ObjectType } from 'type-graphql';
import { PageInfo } from '../audit-events/audit-event.inputs.js';
import { Delivery, DeliveryKind, DeliveryStatus } from './delivery.entity.js';

/** Delivery filters; combined with AND. */
@InputType()
export class DeliveryFilter {
  @Field(() => DeliveryStatus, { nullable: true }) status?: DeliveryStatus | null;
  @Field(() => DeliveryKind, { nullable: true }) kind?: DeliveryKind | null;
}

/** One delivery with its cursor. */
@ObjectType()
export class DeliveryEdge {
  @Field(() => String) cursor!: string;
  @Field(() => Delivery) node!: Delivery;
}

/** A page of deliveries. */
@ObjectType()
export class DeliveryConnection {
  @Field(() => [DeliveryEdge]) edges!: DeliveryEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}
