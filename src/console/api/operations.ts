import { gql, type AnyVariables, type TypedDocumentNode } from '@urql/core';

// Every GraphQL operation the console sends, with hand-written result and variable types.
// They use only the public contract (shared/contract/audithook.graphql); test/console/operations.test.ts
// validates each source below against it.

/** An ISO-8601 date-time string, as the DateTimeISO scalar is sent. */
export type DateTimeISO = string;
/** The two roles an API token can have. */
export type Role = 'ADMIN' | 'INGEST';
/** A webhook is ACTIVE or, after failing for a long time, DISABLED. */
export type WebhookStatus = 'ACTIVE' | 'DISABLED';
/** What a delivery carries: audit events, or the sample of testWebhook. */
export type DeliveryKind = 'EVENTS' | 'TEST';
/** A delivery's life cycle. */
export type DeliveryStatus = 'PENDING' | 'RETRYING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
/** How one attempt ended. */
export type AttemptOutcome = 'SUCCEEDED' | 'FAILED';

/** Every source string, so a test can validate them against the contract. */
export const operationSources: string[] = [];

function op<Data, Variables extends AnyVariables = Record<string, never>>(source: string): TypedDocumentNode<Data, Variables> {
  operationSources.push(source);
  return gql<Data, Variables>(source);
}

/** The caller's organization and role (query viewer). */
export interface Viewer {
  role: Role;
  tokenId: string;
  organization: { id: string; name: string };
}

/** Who the pasted token is: the sign-in check and the header's organization and role. */
export const VIEWER_QUERY = op<{ viewer: Viewer }>(`
  query ConsoleViewer {
    viewer { role tokenId organization { id name } }
  }
`);

/** The sign-in check: is this token accepted at all (sent before the token is kept). */
export const SIGN_IN_SOURCE = 'query ConsoleSignIn { viewer { tokenId } }';
operationSources.push(SIGN_IN_SOURCE);

/** The registered webhook as the console shows it. */
export interface Webhook {
  id: string;
  url: string;
  authorization: { scheme: string; username: string | null } | null;
  status: WebhookStatus;
  createdAt: DateTimeISO;
  updatedAt: DateTimeISO;
  lastAttemptAt: DateTimeISO | null;
  lastSuccessAt: DateTimeISO | null;
  lastFailureAt: DateTimeISO | null;
  /** Start of the current unbroken run of failed attempts; null after a success. */
  failingSince: DateTimeISO | null;
  /** When it was turned off; null while ACTIVE. */
  disabledAt: DateTimeISO | null;
  /** Why it was turned off: HTTP_410 or FAILING_SINCE_<time>. */
  disabledReason: string | null;
}

const WEBHOOK_FIELDS = `id url authorization { scheme username } status createdAt updatedAt lastAttemptAt lastSuccessAt lastFailureAt failingSince disabledAt disabledReason`;

/** The organization's webhook (or null) for the webhook page. */
export const WEBHOOK_QUERY = op<{ webhook: Webhook | null }, { org: string }>(`
  query ConsoleWebhook($org: ID!) { webhook(organizationId: $org) { ${WEBHOOK_FIELDS} } }
`);

/** Receiver credentials as the form sends them: exactly one of basic or header. */
export interface AuthorizationInput {
  basic?: { username: string; password: string };
  header?: string;
}

/** registerWebhook. */
export const REGISTER_WEBHOOK = op<{ registerWebhook: Webhook }, { org: string; input: { url: string; authorization?: AuthorizationInput } }>(`
  mutation ConsoleRegisterWebhook($org: ID!, $input: RegisterWebhookInput!) {
    registerWebhook(organizationId: $org, input: $input) { ${WEBHOOK_FIELDS} }
  }
`);

/** updateWebhook. */
export const UPDATE_WEBHOOK = op<
  { updateWebhook: Webhook },
  { org: string; input: { url?: string; authorization?: AuthorizationInput; removeAuthorization?: boolean } }
>(`
  mutation ConsoleUpdateWebhook($org: ID!, $input: UpdateWebhookInput!) {
    updateWebhook(organizationId: $org, input: $input) { ${WEBHOOK_FIELDS} }
  }
`);

/** removeWebhook. */
export const REMOVE_WEBHOOK = op<{ removeWebhook: boolean }, { org: string }>(`
  mutation ConsoleRemoveWebhook($org: ID!) { removeWebhook(organizationId: $org) }
`);

/** webhookSigningSecret: asked only when the admin presses Reveal. */
export const SIGNING_SECRET_QUERY = op<{ webhookSigningSecret: string }, { org: string }>(`
  query ConsoleSigningSecret($org: ID!) { webhookSigningSecret(organizationId: $org) }
`);

/** rotateWebhookSigningSecret. */
export const ROTATE_SIGNING_SECRET = op<{ rotateWebhookSigningSecret: string }, { org: string }>(`
  mutation ConsoleRotateSigningSecret($org: ID!) { rotateWebhookSigningSecret(organizationId: $org) }
`);

/** One attempt, as tables, the detail view and the chart show it. */
export interface Attempt {
  id: string;
  deliveryId: string;
  attemptNumber: number;
  outcome: AttemptOutcome;
  statusCode: number | null;
  error: string | null;
  responseBody: string | null;
  durationMs: number;
  startedAt: DateTimeISO;
  willRetry: boolean;
  nextAttemptAt: DateTimeISO | null;
}

const ATTEMPT_FIELDS = `id deliveryId attemptNumber outcome statusCode error responseBody durationMs startedAt willRetry nextAttemptAt`;

/** A delivery as a table row: its attempts give the last status code and duration. */
export interface DeliverySummary {
  id: string;
  kind: DeliveryKind;
  status: DeliveryStatus;
  eventCount: number;
  attemptCount: number;
  maxAttempts: number;
  nextAttemptAt: DateTimeISO | null;
  createdAt: DateTimeISO;
  completedAt: DateTimeISO | null;
  attempts: Attempt[];
}

const DELIVERY_FIELDS = `id kind status eventCount attemptCount maxAttempts nextAttemptAt createdAt completedAt attempts { ${ATTEMPT_FIELDS} }`;

/** The filter of the deliveries page. */
export interface DeliveryFilter {
  status?: DeliveryStatus;
  kind?: DeliveryKind;
}

/** A page of a cursor connection. */
export interface Connection<Node> {
  edges: { cursor: string; node: Node }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** One page of deliveries, newest first. */
export const DELIVERIES_QUERY = op<
  { deliveries: Connection<DeliverySummary> },
  { org: string; filter?: DeliveryFilter; first: number; after?: string | null }
>(`
  query ConsoleDeliveries($org: ID!, $filter: DeliveryFilter, $first: Int, $after: String) {
    deliveries(organizationId: $org, filter: $filter, first: $first, after: $after) {
      edges { cursor node { ${DELIVERY_FIELDS} } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

/** Only what the last-hour chart needs of each delivery's attempts. */
export interface ChartAttempt {
  id: string;
  outcome: AttemptOutcome;
  durationMs: number;
  startedAt: DateTimeISO;
}

/** Deliveries with their attempts' outcome, duration and time, to draw the last hour. */
export const CHART_DELIVERIES_QUERY = op<
  { deliveries: Connection<{ id: string; createdAt: DateTimeISO; attempts: ChartAttempt[] }> },
  { org: string; first: number; after?: string | null }
>(`
  query ConsoleChartDeliveries($org: ID!, $first: Int, $after: String) {
    deliveries(organizationId: $org, first: $first, after: $after) {
      edges { cursor node { id createdAt attempts { id outcome durationMs startedAt } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

/** An audit event as the audit log's table and detail show it. */
export interface AuditEvent {
  id: string;
  time: DateTimeISO;
  action: string;
  actor: { id: string; type: string | null; name: string | null; email: string | null };
  context: AuditObject[];
  container: AuditObject[];
  location: { ip: string | null; geo: string | null; countryName: string | null; regionName: string | null; city: string | null } | null;
  message: string | null;
  receivedAt: DateTimeISO;
}

/** What an action was done to, or where. */
export interface AuditObject {
  id: string;
  type: string;
  name: string | null;
  attributes: Record<string, unknown> | null;
}

const AUDIT_EVENT_FIELDS = `id time action actor { id type name email }
  context { id type name attributes } container { id type name attributes }
  location { ip geo countryName regionName city } message receivedAt`;

/** One attempt's request as sent: where it went and its headers (authorization as its scheme only). */
export interface SentRequest {
  id: string;
  attemptNumber: number;
  url: string;
  requestHeaders: { name: string; value: string }[];
}

/** A delivery with every attempt, the events it carried and the request as sent. */
export interface DeliveryDetail extends DeliverySummary {
  webhookId: string;
  events: AuditEvent[];
  /** The JSON body the receiver gets, the same on every attempt. */
  payload: Record<string, unknown>;
  sent: SentRequest[];
}

/** The delivery detail view. */
export const DELIVERY_QUERY = op<{ delivery: DeliveryDetail | null }, { org: string; id: string }>(`
  query ConsoleDelivery($org: ID!, $id: ID!) {
    delivery(organizationId: $org, id: $id) {
      ${DELIVERY_FIELDS} webhookId events { ${AUDIT_EVENT_FIELDS} }
      payload sent: attempts { id attemptNumber url requestHeaders { name value } }
    }
  }
`);

/** redeliver: a finished delivery again, with a fresh set of attempts. */
export const REDELIVER = op<{ redeliver: DeliverySummary }, { org: string; id: string }>(`
  mutation ConsoleRedeliver($org: ID!, $id: ID!) { redeliver(organizationId: $org, deliveryId: $id) { ${DELIVERY_FIELDS} } }
`);

/** retryDelivery: the planned next attempt of a RETRYING delivery, now. */
export const RETRY_DELIVERY = op<{ retryDelivery: DeliverySummary }, { org: string; id: string }>(`
  mutation ConsoleRetryDelivery($org: ID!, $id: ID!) { retryDelivery(organizationId: $org, deliveryId: $id) { ${DELIVERY_FIELDS} } }
`);

/** recoverDeliveries: every FAILED delivery created since, sent again in the background; answers how many. */
export const RECOVER_DELIVERIES = op<{ recoverDeliveries: number }, { org: string; since: DateTimeISO }>(`
  mutation ConsoleRecoverDeliveries($org: ID!, $since: DateTimeISO!) { recoverDeliveries(organizationId: $org, since: $since) }
`);

/** testWebhook: the TEST delivery, sent after a brief delay. */
export const TEST_WEBHOOK = op<{ testWebhook: DeliverySummary }, { org: string }>(`
  mutation ConsoleTestWebhook($org: ID!) { testWebhook(organizationId: $org) { ${DELIVERY_FIELDS} } }
`);

/** A live attempt with its delivery as it is after that attempt. */
export interface LiveAttempt extends Attempt {
  delivery: DeliverySummary;
}

/** Every attempt of the organization's webhook, live (graphql-ws). */
export const DELIVERY_ATTEMPTS_SUBSCRIPTION = op<{ deliveryAttempts: LiveAttempt }, { org: string }>(`
  subscription ConsoleDeliveryAttempts($org: ID!) {
    deliveryAttempts(organizationId: $org) { ${ATTEMPT_FIELDS} delivery { ${DELIVERY_FIELDS} } }
  }
`);

/** The audit log's filter. */
export interface AuditEventFilter {
  action?: string;
  actorId?: string;
  from?: DateTimeISO;
  to?: DateTimeISO;
}

/** One page of the audit log, newest first. */
export const AUDIT_EVENTS_QUERY = op<
  { auditEvents: Connection<AuditEvent> },
  { org: string; filter?: AuditEventFilter; first: number; after?: string | null }
>(`
  query ConsoleAuditEvents($org: ID!, $filter: AuditEventFilter, $first: Int, $after: String) {
    auditEvents(organizationId: $org, filter: $filter, first: $first, after: $after) {
      edges { cursor node { ${AUDIT_EVENT_FIELDS} } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

/** One audit event in full. */
export const AUDIT_EVENT_QUERY = op<{ auditEvent: AuditEvent | null }, { org: string; id: string }>(`
  query ConsoleAuditEvent($org: ID!, $id: ID!) { auditEvent(organizationId: $org, id: $id) { ${AUDIT_EVENT_FIELDS} } }
`);

/** An API token as listed (never its secret). */
export interface ApiToken {
  id: string;
  role: Role;
  label: string | null;
  createdAt: DateTimeISO;
  lastUsedAt: DateTimeISO | null;
}

const API_TOKEN_FIELDS = `id role label createdAt lastUsedAt`;

/** The organization's tokens. */
export const API_TOKENS_QUERY = op<{ apiTokens: ApiToken[] }, { org: string }>(`
  query ConsoleApiTokens($org: ID!) { apiTokens(organizationId: $org) { ${API_TOKEN_FIELDS} } }
`);

/** createApiToken: the secret comes back once. */
export const CREATE_API_TOKEN = op<
  { createApiToken: { token: string; apiToken: ApiToken } },
  { org: string; input: { role: Role; label?: string } }
>(`
  mutation ConsoleCreateApiToken($org: ID!, $input: CreateApiTokenInput!) {
    createApiToken(organizationId: $org, input: $input) { token apiToken { ${API_TOKEN_FIELDS} } }
  }
`);

/** revokeApiToken. */
export const REVOKE_API_TOKEN = op<{ revokeApiToken: boolean }, { org: string; id: string }>(`
  mutation ConsoleRevokeApiToken($org: ID!, $id: ID!) { revokeApiToken(organizationId: $org, id: $id) }
`);
