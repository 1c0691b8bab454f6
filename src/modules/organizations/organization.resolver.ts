import { Arg, Authorized, Ctx, Field, ID, ObjectType, Query, Resolver } from 'type-graphql';
import { AppError } from '../../lib/app-error.js';
import { Role } from '../roles.js';
import { principalOf, type RequestContext } from '../request-context.js';
import { Organization } from './organization.entity.js';

/** The caller: the organization and role its API token grants. */
@ObjectType({ description: 'The caller, as its API token identifies it.' })
export class Viewer {
  @Field(() => Organization, { description: 'The organization the API token belongs to.' }) organization!: Organization;
  @Field(() => Role, { description: 'What the API token may do.' }) role!: Role;
  @Field(() => ID, { description: 'The id of the API token making the request.' }) tokenId!: string;
}

/** viewer and organization (Organization.webhook lives with the webhooks module). */
@Resolver(() => Organization)
export class OrganizationResolver {
  @Authorized()
  @Query(() => Viewer, { description: 'The caller: the organization and role that its API token grants.' })
  async viewer(@Ctx() context: RequestContext): Promise<Viewer> {
    const principal = principalOf(context);
    const organization = await context.services.organizations.get(principal.organizationId);
    if (!organization) throw new AppError('UNAUTHENTICATED', 'the API token belongs to no organization');
    return { organization, role: principal.role, tokenId: principal.tokenId };
  }

  @Authorized(Role.ADMIN)
  @Query(() => Organization, { description: 'Your own organization by id; any other id is FORBIDDEN.' })
  async organization(@Arg('id', () => ID, { description: "Your token's own organization id." }) id: string, @Ctx() context: RequestContext): Promise<Organization> {
    if (id !== principalOf(context).organizationId) throw new AppError('FORBIDDEN', 'the API token does not belong to this organization');
    const organization = await context.services.organizations.get(id);
    if (!organization) throw new AppError('NOT_FOUND', `no organization ${id}`, 'id');
    return organization;
  }
}
