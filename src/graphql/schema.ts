import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
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
  return buildSchema({ resolvers, authChecker, validate: false, authMode: 'error', pubSub: topicsUnused, globalMiddlewares: [inputGuard] });
}

/** The SDL committed as schema/schema.graphql; sorted so diffs show only real changes. */
export function schemaSdl(schema: GraphQLSchema): string {
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}
