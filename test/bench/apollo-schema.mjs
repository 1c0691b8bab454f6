// The schema the baseline servers answer: audithook's two ingest mutations with the same argument
// and input types, so a client sends byte-for-byte the same requests to every party.
import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { DateTimeISOResolver, JSONObjectResolver } from 'graphql-scalars';

/** SDL of the ingest subset of schema/schema.graphql. */
export const typeDefs = /* GraphQL */ `
  scalar DateTimeISO
  scalar JSONObject
  input ActorInput { id: ID! name: String email: String type: String }
  input AuditObjectInput { id: ID! type: String! name: String attributes: JSONObject }
  input LocationInput { ip: String city: String regionName: String countryName: String geo: String }
  input AuditEventInput {
    action: String!
    actor: ActorInput!
    context: [AuditObjectInput!]
    container: [AuditObjectInput!]
    location: LocationInput
    message: String
    time: DateTimeISO
    idempotencyKey: String
  }
  type Actor { id: ID! name: String email: String type: String }
  type AuditEvent { id: ID! time: DateTimeISO! action: String! actor: Actor! message: String }
  type Query { ok: Boolean! }
  type Mutation {
    recordAuditEvent(organizationId: ID!, input: AuditEventInput!): AuditEvent!
    recordAuditEvents(organizationId: ID!, inputs: [AuditEventInput!]!): [AuditEvent!]!
  }
`;

/** An event as the baselines hand it on: the input plus the id and time a server assigns. */
export const toEvent = (input) => ({ ...input, id: `evt_${randomUUID()}`, time: (input.time ?? new Date()).toISOString?.() ?? String(input.time) });

/**
 * Resolvers that check the bearer token and pass each batch of events to `accept` (a no-op for the
 * bare server, an enqueue for the BullMQ peer) before answering.
 */
export function makeResolvers(accept) {
  const check = (context) => {
    if (!context.authorized) throw new GraphQLError('not authenticated', { extensions: { code: 'UNAUTHENTICATED' } });
  };
  return {
    DateTimeISO: DateTimeISOResolver,
    JSONObject: JSONObjectResolver,
    Query: { ok: () => true },
    Mutation: {
      async recordAuditEvent(_root, { input }, context) {
        check(context);
        const [event] = await accept([toEvent(input)]);
        return event;
      },
      async recordAuditEvents(_root, { inputs }, context) {
        check(context);
        if (inputs.length > 1000) throw new GraphQLError('at most 1000 events', { extensions: { code: 'BAD_USER_INPUT' } });
        return accept(inputs.map(toEvent));
      },
    },
  };
}
