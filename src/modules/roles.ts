import { registerEnumType } from 'type-graphql';

/** What a token may do: ADMIN manages everything of its organization, INGEST only records events. */
export enum Role {
  ADMIN = 'ADMIN',
  INGEST = 'INGEST',
}

registerEnumType(Role, {
  name: 'Role',
  description: 'What an API token may do.',
  valuesConfig: {
    ADMIN: { description: 'Manages the webhook and tokens, reads the audit log and deliveries, subscribes to attempts.' },
    INGEST: { description: 'Records audit events; nothing else.' },
  },
});
