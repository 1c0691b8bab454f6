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
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('filter', () => AuditEventFilter, { nullable: true }) filter: AuditEventFilter | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() context: RequestContext,
  ): Promise<AuditEventConnection> {
    return context.services.auditEvents.list(organizationId, filter, first, after);
  }

  @Authorized(Role.ADMIN)
  @Query(() => AuditEvent, { nullable: true })
  auditEvent(@Arg('organizationId', () => ID) organizationId: string, @Arg('id', () => ID) id: string, @Ctx() context: RequestContext): Promise<AuditEvent | null> {
    return context.services.auditEvents.get(organizationId, id);
  }

  @Authorized(Role.ADMIN, Role.INGEST)
  @Mutation(() => AuditEvent)
  recordAuditEvent(
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('input', () => AuditEventInput) input: AuditEventInput,
    @Ctx() context: RequestContext,
  ): Promise<AuditEvent> {
    return context.services.auditEvents.record(organizationId, input);
  }

  @Authorized(Role.ADMIN, Role.INGEST)
  @Mutation(() => [AuditEvent], { description: 'Records up to 1000 events in one transaction: all or none.' })
  recordAuditEvents(
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('inputs', () => [AuditEventInput]) inputs: AuditEventInput[],
    @Ctx() context: RequestContext,
  ): Promise<AuditEvent[]> {
    return context.services.auditEvents.recordMany(organizationId, inputs);
  }
}
