import { lexicographicSortSchema, printSchema, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { ApiTokenResolver } from '../modules/api-tokens/api-token.resolver.js';
import { AuditEventResolver } from '../modules/audit-events/audit-event.resolver.js';
import { DeliveryAttemptResolver, DeliveryResolver } from '../modules/deliveries/delivery.resolver.js';
import { OrganizationResolver } from '../modules/organizations/organization.resolver.js';
import { OrganizationWebhookResolver, WebhookResolver } from '../modules/webhooks/webhook.resolver.js';
import { authChecker } from './auth-checker.js';
import { inputGuard } from './input-guard.js';

/** Every resolver of the API, in one list so the schema, its emitted SDL and the tests agree. */
export const resolvers = [OrganizationResolver, ApiTokenResolver, WebhookResolver, OrganizationWebhookResolver, AuditEventResolver, DeliveryResolver, DeliveryAttemptResolver] as const;

/** Every subscription brings its own `subscribe` (the attempt feed); type-graphql still wants a topic PubSub. */
const topicsUnused = {
  publish(): void {
    throw new Error('audithook subscriptions do not use PubSub topics');
  },
  subscribe(): never {
    throw new Error('audithook subscriptions do not use PubSub topics');
  },
};

/** Builds the executable schema from the decorated resolvers (once per process). */
export async function createSchema(): Promise<GraphQLSchema> {
  const schema = await buildSchema({ resolvers, authChecker, validate: false, authMode: 'error', pubSub: topicsUnused, globalMiddlewares: [inputGuard] });
  // type-graphql has no option for the root types' descriptions, so they are set here.
  for (const [type, description] of rootDescriptions(schema)) if (type) type.description = description;
  return schema;
}

/** The root operation types with what each offers (every schema type is described). */
function rootDescriptions(schema: GraphQLSchema): [GraphQLObjectType | null | undefined, string][] {
  return [
    [schema.getQueryType(), 'Reads: the caller, the organization, its webhook, tokens, audit log and deliveries.'],
    [schema.getMutationType(), 'Writes: recording audit events and managing the webhook, its deliveries and API tokens.'],
    [schema.getSubscriptionType(), 'Live feeds over graphql-ws.'],
  ];
}

/** The SDL committed as schema/schema.graphql; sorted so diffs show only real changes. */
export function schemaSdl(schema: GraphQLSchema): string {
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}
