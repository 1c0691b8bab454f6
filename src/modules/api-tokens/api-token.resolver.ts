import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { principalOf, type RequestContext } from '../request-context.js';
import { ApiToken, Role } from './api-token.entity.js';
import { CreateApiTokenInput, CreatedApiToken } from './api-token.inputs.js';

/** apiTokens, createApiToken, revokeApiToken: admins only. */
@Resolver(() => ApiToken)
export class ApiTokenResolver {
  @Authorized(Role.ADMIN)
  @Query(() => [ApiToken], { description: 'The unrevoked API tokens of the organization, newest first.' })
  apiTokens(@Arg('organizationId', () => ID, { description: "Your token's own organization id." }) organizationId: string, @Ctx() context: RequestContext): Promise<ApiToken[]> {
    return context.services.apiTokens.list(organizationId);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreatedApiToken, { description: 'Shows the token\'s secret once; only its hash is stored.' })
  createApiToken(
    @Arg('organizationId', () => ID, { description: "Your token's own organization id." }) _organizationId: string,
    @Arg('input', () => CreateApiTokenInput, { description: 'The role and label of the new token.' }) input: CreateApiTokenInput,
    @Ctx() context: RequestContext,
  ): Promise<CreatedApiToken> {
    return context.services.apiTokens.create(principalOf(context), input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Boolean, { description: 'Revokes a token of the organization at once; false if it was already revoked.' })
  revokeApiToken(@Arg('organizationId', () => ID, { description: "Your token's own organization id." }) _organizationId: string, @Arg('id', () => ID, { description: 'The id of the token to revoke.' }) id: string, @Ctx() context: RequestContext): Promise<boolean> {
    return context.services.apiTokens.revoke(principalOf(context), id);
  }
}
