import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { Role } from '../roles.js';
import type { RequestContext } from '../request-context.js';
import { AuditEvent } from './audit-event.entity.js';
import { AuditEventConnection, AuditEventFilter, AuditEventInput } from './audit-event.inputs.js';

/** Recording (ADMIN or INGEST) and reading (ADMIN) the audit log. */
@Resolver(() => AuditEvent)
export class AuditEventResolver {
  @Authorized(Role.ADMIN)
  @Query(() => AuditEventConnection, { description: 'Audit events, newest first.' })
  auditEvents(
    @Arg('organizationId', () => ID, { description: "Your token's own organization id." }) organizationId: string,
    @Arg('filter', () => AuditEventFilter, { nullable: true, description: 'Narrows the list; omit for all events.' }) filter: AuditEventFilter | null,
    @Arg('first', () => Int, { nullable: true, description: 'How many events to return: default 50, at most 500.' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'Return the events after this cursor (a previous page\'s `endCursor`); omit for the first page.' }) after: string | null,
    @Ctx() context: RequestContext,
  ): Promise<AuditEventConnection> {
    return context.services.auditEvents.list(organizationId, filter, first, after);
  }

  @Authorized(Role.ADMIN)
  @Query(() => AuditEvent, { nullable: true, description: 'One audit event by id; null if the organization has no such event.' })
  auditEvent(@Arg('organizationId', () => ID, { description: "Your token's own organization id." }) organizationId: string, @Arg('id', () => ID, { description: 'The event id.' }) id: string, @Ctx() context: RequestContext): Promise<AuditEvent | null> {
    return context.services.auditEvents.get(organizationId, id);
  }

  @Authorized(Role.ADMIN, Role.INGEST)
  @Mutation(() => AuditEvent, { description: "Records one audit event and queues it for the organization's webhook, if one is registered." })
  recordAuditEvent(
    @Arg('organizationId', () => ID, { description: "Your token's own organization id." }) organizationId: string,
    @Arg('input', () => AuditEventInput, { description: 'The event to record.' }) input: AuditEventInput,
    @Ctx() context: RequestContext,
  ): Promise<AuditEvent> {
    return context.services.auditEvents.record(organizationId, input);
  }

  @Authorized(Role.ADMIN, Role.INGEST)
  @Mutation(() => [AuditEvent], { description: 'Records up to 1000 events in one transaction: all or none.' })
  recordAuditEvents(
    @Arg('organizationId', () => ID, { description: "Your token's own organization id." }) organizationId: string,
    @Arg('inputs', () => [AuditEventInput], { description: 'The events to record, at most 1000.' }) inputs: AuditEventInput[],
    @Ctx() context: RequestContext,
  ): Promise<AuditEvent[]> {
    return context.services.auditEvents.recordMany(organizationId, inputs);
  }
}
