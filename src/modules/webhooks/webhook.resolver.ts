import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Role } from '../roles.js';
import { principalOf, type RequestContext } from '../request-context.js';
import { Organization } from '../organizations/organization.entity.js';
import { Webhook } from './webhook.entity.js';
import { RegisterWebhookInput, UpdateWebhookInput, WebhookAuthorization } from './webhook.inputs.js';

/** The webhook registration operations: admins only. */
@Resolver(() => Webhook)
export class WebhookResolver {
  @Authorized(Role.ADMIN)
  @Query(() => Webhook, { nullable: true, description: "The organization's registered webhook; null when none is registered." })
  webhook(@Arg('organizationId', () => ID, { description: "Your token's own organization id." }) organizationId: string, @Ctx() context: RequestContext): Promise<Webhook | null> {
    return context.services.webhooks.get(organizationId);
  }

  @Authorized(Role.ADMIN)
  @Query(() => String, { description: 'The current signing secret (whsec_...) used for the webhook-signature header. Admins only.' })
  webhookSigningSecret(@Arg('organizationId', () => ID, { description: "Your token's own organization id." }) organizationId: string, @Ctx() context: RequestContext): Promise<string> {
    return context.services.webhooks.signingSecret(organizationId);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Webhook, { description: "Registers the organization's one webhook. Fails with WEBHOOK_ALREADY_REGISTERED when one exists." })
  registerWebhook(
    @Arg('organizationId', () => ID, { description: "Your token's own organization id." }) _organizationId: string,
    @Arg('input', () => RegisterWebhookInput, { description: 'The URL and optional credentials of the receiver.' }) input: RegisterWebhookInput,
    @Ctx() context: RequestContext,
  ): Promise<Webhook> {
    return context.services.webhooks.register(principalOf(context), input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Webhook, { description: 'Edits the registered webhook; any call, even with input {}, turns a DISABLED webhook back on. Fails with NOT_FOUND when none is registered.' })
  updateWebhook(
    @Arg('organizationId', () => ID, { description: "Your token's own organization id." }) _organizationId: string,
    @Arg('input', () => UpdateWebhookInput, { description: 'What to change.' }) input: UpdateWebhookInput,
    @Ctx() context: RequestContext,
  ): Promise<Webhook> {
    return context.services.webhooks.update(principalOf(context), input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Boolean, { description: 'Removes the registration; deliveries not yet sent are cancelled. True when one was removed.' })
  removeWebhook(@Arg('organizationId', () => ID, { description: "Your token's own organization id." }) _organizationId: string, @Ctx() context: RequestContext): Promise<boolean> {
    return context.services.webhooks.remove(principalOf(context));
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => String, { description: 'Replaces the signing secret; the previous one keeps signing alongside for 24 hours.' })
  rotateWebhookSigningSecret(@Arg('organizationId', () => ID, { description: "Your token's own organization id." }) _organizationId: string, @Ctx() context: RequestContext): Promise<string> {
    return context.services.webhooks.rotateSigningSecret(principalOf(context));
  }

  @FieldResolver(() => WebhookAuthorization, { nullable: true, description: 'How requests authenticate to the receiver; never includes the secret part.' })
  authorization(@Root() webhook: Webhook): WebhookAuthorization | null {
    return webhook.authorizationScheme ? { scheme: webhook.authorizationScheme, username: webhook.authorizationUsername } : null;
  }
}

/** Organization.webhook: declared here so the organizations module does not depend on this one. */
@Resolver(() => Organization)
export class OrganizationWebhookResolver {
  @FieldResolver(() => Webhook, { nullable: true, description: 'The registered webhook; null when none is registered or the caller is not an ADMIN of this organization.' })
  async webhook(@Root() organization: Organization, @Ctx() context: RequestContext): Promise<Webhook | null> {
    if (context.principal?.role !== Role.ADMIN || context.principal.organizationId !== organization.id) return null;
    return context.loaders.webhook.load(organization.id);
  }
}
