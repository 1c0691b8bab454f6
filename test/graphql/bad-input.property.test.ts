import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { buildSchema, getNamedType, isObjectType, type GraphQLField } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type GqlResult, type TestServer } from '../support/server.js';
import {
  auditEventInput,
  authorization,
  cursors,
  isoTime,
  someId,
  stringSlots,
  text,
  url,
  validAuthorization,
  validEvent,
  word,
  wrongType,
} from '../support/hostile-input.js';
import { healthStatus, nestedJsonText, nestedLiteralText, postRaw, storeSnapshot } from '../support/store.js';

// Generated hostile input thrown at every query and mutation argument of schema/schema.graphql.
// Whatever comes in, the answer is a client error (never INTERNAL_SERVER_ERROR or HTTP 500), a
// refused mutation stores nothing, an accepted event reads back exactly as acknowledged, and the
// server still answers /healthz.

const RUNS = 50;
const SCHEMA = buildSchema(readFileSync(new URL('../../schema/schema.graphql', import.meta.url), 'utf8'));
/** Client error codes a hostile argument may produce; FORBIDDEN only for an organization id that is not the caller's. */
const ALLOWED_CODES = new Set(['BAD_USER_INPUT', 'NOT_FOUND', 'FORBIDDEN', 'WEBHOOK_ALREADY_REGISTERED', 'DESTINATION_NOT_ALLOWED']);
const EVENT_SELECTION = '{ id message actor { id type name email } context { id type name attributes } container { id type name attributes } location { ip geo countryName regionName city } }';
const WEBHOOK_SELECTION = '{ id url status authorization { scheme username } }';
/** What the mutations that store client text answer with; the same is read back afterwards and must be equal. */
const SELECTIONS: Record<string, string> = {
  recordAuditEvent: EVENT_SELECTION,
  recordAuditEvents: EVENT_SELECTION,
  createApiToken: '{ apiToken { id label role } }',
  registerWebhook: WEBHOOK_SELECTION,
  updateWebhook: WEBHOOK_SELECTION,
};

let server: TestServer;
let known: { eventIds: string[]; deliveryIds: string[]; ingestTokenId: string; otherOrgId: string; endCursor: string };

beforeAll(async () => {
  // No delivery runtime: nothing is ever sent, whatever gets registered (only loopback URLs can be, see `url` below).
  server = await startTestServer({}, { deliver: false });
  const recorded = await server.gql(`mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id } }`, {
    org: server.orgId,
    inputs: [1, 2, 3].map((i) => ({ action: 'seed_event', actor: { id: `u-${i}` }, idempotencyKey: `seed-${i}` })),
  });
  await server.gql(`mutation($org: ID!) { registerWebhook(organizationId: $org, input: { url: "http://127.0.0.1:9/hook" }) { id } }`, { org: server.orgId });
  const test = await server.gql(`mutation($org: ID!) { testWebhook(organizationId: $org) { id } }`, { org: server.orgId });
  const token = await server.gql(`mutation($org: ID!) { createApiToken(organizationId: $org, input: { role: INGEST, label: "seed" }) { apiToken { id } } }`, { org: server.orgId });
  const page = await server.gql(`query($org: ID!) { auditEvents(organizationId: $org, first: 1) { pageInfo { endCursor } } }`, { org: server.orgId });
  known = {
    eventIds: recorded.data!.recordAuditEvents.map((e: { id: string }) => e.id),
    deliveryIds: [test.data!.testWebhook.id],
    ingestTokenId: token.data!.createApiToken.apiToken.id,
    otherOrgId: (await server.createOrg('Other')).orgId,
    endCursor: page.data!.auditEvents.pageInfo.endCursor,
  };
});
afterAll(async () => {
  await server?.stop();
});

// ---- generators that need the running server -------------------------------------------------

/** Mostly the caller's organization (so calls get past the tenant check), sometimes another or junk. */
const organizationId = fc.oneof(
  { weight: 6, arbitrary: fc.constant(null).map(() => server.orgId) },
  { weight: 1, arbitrary: fc.constant(null).map(() => known.otherOrgId) },
  { weight: 1, arbitrary: someId('org') },
);
const pick = (get: () => string[]) => fc.nat().map((i) => get()[i % get().length]!);

/** One generator per argument of every query and mutation: `operation.argument`. */
const GENERATORS: Record<string, fc.Arbitrary<unknown>> = {
  'apiTokens.organizationId': organizationId,
  'auditEvent.id': fc.oneof(pick(() => known.eventIds), someId('evt')),
  'auditEvent.organizationId': organizationId,
  'auditEvents.after': fc.option(cursors(() => known.endCursor), { nil: null }),
  'auditEvents.filter': fc.option(fc.record({ action: text, actorId: text, from: isoTime, to: isoTime }, { requiredKeys: [] }), { nil: null }),
  'auditEvents.first': fc.option(fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 20 }) }, fc.integer({ min: -5, max: 600 }), fc.integer(), fc.double()), { nil: null }),
  'auditEvents.organizationId': organizationId,
  'deliveries.after': fc.option(cursors(() => known.endCursor), { nil: null }),
  'deliveries.filter': fc.option(fc.record({ status: fc.constantFrom('PENDING', 'FAILED', 'pending', '\u0000'), kind: fc.constantFrom('TEST', 'EVENTS', 'test') }, { requiredKeys: [] }), { nil: null }),
  'deliveries.first': fc.option(fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 20 }) }, fc.integer({ min: -5, max: 600 }), fc.integer()), { nil: null }),
  'deliveries.organizationId': organizationId,
  'delivery.id': fc.oneof(pick(() => known.deliveryIds), someId('dlv')),
  'delivery.organizationId': organizationId,
  'organization.id': organizationId,
  'webhook.organizationId': organizationId,
  'webhookSigningSecret.organizationId': organizationId,
  'createApiToken.input': fc.record({ role: fc.constantFrom('ADMIN', 'INGEST', 'INGEST', 'ROOT', 'admin'), label: fc.option(text, { nil: null }) }, { requiredKeys: ['role'] }),
  'createApiToken.organizationId': organizationId,
  'recordAuditEvent.input': auditEventInput,
  'recordAuditEvent.organizationId': organizationId,
  'recordAuditEvents.inputs': fc.array(auditEventInput, { maxLength: 4 }),
  'recordAuditEvents.organizationId': organizationId,
  'recoverDeliveries.organizationId': organizationId,
  'recoverDeliveries.since': isoTime,
  'redeliver.deliveryId': fc.oneof(pick(() => known.deliveryIds), someId('dlv')),
  'redeliver.organizationId': organizationId,
  'retryDelivery.deliveryId': fc.oneof(pick(() => known.deliveryIds), someId('dlv')),
  'retryDelivery.organizationId': organizationId,
  'registerWebhook.input': fc.record({ url, authorization }, { requiredKeys: ['url'] }),
  'registerWebhook.organizationId': organizationId,
  'removeWebhook.organizationId': organizationId,
  // Never the ADMIN token the test itself uses: revoking that would only test UNAUTHENTICATED from then on.
  'revokeApiToken.id': fc.oneof(pick(() => [known.ingestTokenId]), someId('tok')),
  'revokeApiToken.organizationId': organizationId,
  'rotateWebhookSigningSecret.organizationId': organizationId,
  'testWebhook.organizationId': organizationId,
  'updateWebhook.input': fc.record({ url, authorization, removeAuthorization: fc.oneof(fc.boolean(), fc.constant(null)) }, { requiredKeys: [] }),
  'updateWebhook.organizationId': organizationId,
};

/** Values every argument accepts; the poisoned-string property spoils exactly one string inside them. */
const ownOrganization = fc.constant(null).map(() => server.orgId);
const VALID: Record<string, fc.Arbitrary<unknown>> = {
  organizationId: ownOrganization,
  'auditEvent.id': pick(() => known.eventIds),
  'auditEvents.after': fc.constant(null).map(() => known.endCursor),
  'auditEvents.filter': fc.record({ action: word, actorId: word, from: fc.constant('2026-01-01T00:00:00Z'), to: fc.constant('2027-01-01T00:00:00Z') }),
  'auditEvents.first': fc.constant(5),
  'deliveries.after': fc.constant(null).map(() => Buffer.from(JSON.stringify([Date.parse('2026-11-26T10:00:00Z'), known.deliveryIds[0]])).toString('base64url')),
  'deliveries.filter': fc.record({ status: fc.constantFrom('PENDING', 'FAILED'), kind: fc.constantFrom('TEST', 'EVENTS') }),
  'deliveries.first': fc.constant(5),
  'delivery.id': pick(() => known.deliveryIds),
  'organization.id': ownOrganization,
  'createApiToken.input': fc.record({ role: fc.constantFrom('ADMIN', 'INGEST'), label: word }),
  'recordAuditEvent.input': validEvent,
  'recordAuditEvents.inputs': fc.array(validEvent, { minLength: 1, maxLength: 3 }),
  'recoverDeliveries.since': fc.constant('2026-01-01T00:00:00Z'),
  'redeliver.deliveryId': pick(() => known.deliveryIds),
  'retryDelivery.deliveryId': pick(() => known.deliveryIds),
  'registerWebhook.input': fc.record({ url: fc.constant('http://127.0.0.1:9/hook'), authorization: validAuthorization }),
  'revokeApiToken.id': pick(() => [known.ingestTokenId]),
  'updateWebhook.input': fc.record({ url: fc.constant('http://127.0.0.1:9/other'), authorization: validAuthorization, removeAuthorization: fc.constant(false) }),
};

// ---- operations from the schema ---------------------------------------------------------------

interface Operation {
  kind: 'query' | 'mutation';
  field: GraphQLField<unknown, unknown>;
  document: string;
}

function operations(): Operation[] {
  const result: Operation[] = [];
  for (const kind of ['query', 'mutation'] as const) {
    const root = kind === 'query' ? SCHEMA.getQueryType()! : SCHEMA.getMutationType()!;
    for (const field of Object.values(root.getFields())) {
      const declared = field.args.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
      const passed = field.args.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
      const selection = SELECTIONS[field.name] ?? (isObjectType(getNamedType(field.type)) ? '{ __typename }' : '');
      const header = declared ? `(${declared})` : '';
      result.push({ kind, field, document: `${kind} Probe${header} { ${field.name}${passed ? `(${passed})` : ''} ${selection} }` });
    }
  }
  return result;
}

/** Each argument from its generator, or (one time in nine) a value of the wrong type; absent nullable arguments are left out. */
function variablesFor(operation: Operation): fc.Arbitrary<Record<string, unknown>> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const arg of operation.field.args) {
    const generator = GENERATORS[`${operation.field.name}.${arg.name}`]!;
    model[arg.name] = fc.oneof({ weight: 8, arbitrary: generator }, { weight: 1, arbitrary: wrongType });
  }
  // Required arguments are usually present; leaving one out is itself a bad input worth a few runs.
  const required = operation.field.args.filter((arg) => String(arg.type).endsWith('!')).map((arg) => arg.name);
  return fc.oneof({ weight: 8, arbitrary: fc.record(model, { requiredKeys: required }) }, { weight: 1, arbitrary: fc.record(model, { requiredKeys: [] }) });
}

/** The assertions every answer must meet; `before` is the store snapshot taken before the call. */
async function checkAnswer(operation: Operation, variables: Record<string, unknown>, result: GqlResult, before: string): Promise<void> {
  const context = JSON.stringify({ operation: operation.field.name, result }).slice(0, 2000);
  expect(result.status, context).not.toBe(500);
  for (const error of result.errors ?? []) {
    const code = error.extensions?.code ?? '';
    expect(ALLOWED_CODES.has(code), context).toBe(true);
    if (code === 'FORBIDDEN') expect(variables.organizationId ?? variables.id, context).not.toBe(server.orgId);
  }
  if (operation.kind === 'query' || result.errors) expect(await storeSnapshot(server.app), context).toBe(before);
  if (!result.errors && operation.kind === 'mutation') await expectReadBack(operation.field.name, result.data![operation.field.name], context);
}

/** An accepted mutation's answer equals what a later read returns: what was acknowledged is what is stored (and delivered). */
async function expectReadBack(name: string, acknowledged: any, context: string): Promise<void> {
  const org = server.orgId;
  if (name === 'recordAuditEvent' || name === 'recordAuditEvents') {
    for (const event of [acknowledged].flat() as { id: string }[]) {
      const read = await server.gql(`query($org: ID!, $id: ID!) { auditEvent(organizationId: $org, id: $id) ${EVENT_SELECTION} }`, { org, id: event.id });
      expect(read.data?.auditEvent, context).toEqual(event);
    }
  } else if (name === 'createApiToken') {
    const read = await server.gql(`query($org: ID!) { apiTokens(organizationId: $org) { id label role } }`, { org });
    expect(read.data?.apiTokens.find((token: { id: string }) => token.id === acknowledged.apiToken.id), context).toEqual(acknowledged.apiToken);
  } else if (name === 'registerWebhook' || name === 'updateWebhook') {
    const read = await server.gql(`query($org: ID!) { webhook(organizationId: $org) ${WEBHOOK_SELECTION} }`, { org });
    expect(read.data?.webhook, context).toEqual(acknowledged);
  }
}

/** Starts from a registered (loopback) webhook, so webhook operations reach their checks; from none for registerWebhook. */
async function prepareWebhook(operation: Operation): Promise<void> {
  await server.gql(`mutation($org: ID!) { removeWebhook(organizationId: $org) }`, { org: server.orgId });
  if (operation.field.name === 'registerWebhook') return;
  const registered = await server.gql(`mutation($org: ID!) { registerWebhook(organizationId: $org, input: { url: "http://127.0.0.1:9/hook" }) { id } }`, { org: server.orgId });
  expect(registered.errors).toBeUndefined();
}

// ---- properties -------------------------------------------------------------------------------

describe('hostile arguments', () => {
  it('have a generator for every argument of every query and mutation in the schema', () => {
    const expected = operations().flatMap((operation) => operation.field.args.map((arg) => `${operation.field.name}.${arg.name}`));
    expect(Object.keys(GENERATORS).sort()).toEqual(expected.sort());
  });

  for (const operation of operations()) {
    it(`${operation.kind} ${operation.field.name}: a client error or a faithful answer, nothing stored when refused`, async () => {
      await prepareWebhook(operation);
      await fc.assert(
        fc.asyncProperty(variablesFor(operation), async (variables) => {
          const before = await storeSnapshot(server.app);
          const result = await server.gql(operation.document, variables);
          await checkAnswer(operation, variables, result, before);
        }),
        { numRuns: operation.field.args.length === 0 ? 5 : RUNS },
      );
      expect(await healthStatus(server)).toBe(200);
    });
  }
});

describe('one poisoned string', () => {
  for (const operation of operations().filter((op) => op.field.args.length > 0)) {
    it(`${operation.kind} ${operation.field.name}: a NUL or lone surrogate anywhere is refused on its path, nothing stored`, async () => {
      await prepareWebhook(operation);
      const model = Object.fromEntries(operation.field.args.map((arg) => [arg.name, VALID[`${operation.field.name}.${arg.name}`] ?? VALID[arg.name]!]));
      await fc.assert(
        fc.asyncProperty(fc.record(model), fc.nat(), fc.nat(), fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff'), async (generated, slotIndex, at, poison) => {
          const variables = structuredClone(generated); // fast-check replays generated values while shrinking: never poison them in place
          const slots = stringSlots(variables);
          const slot = slots[slotIndex % slots.length]!;
          const text = slot.get();
          const position = at % (text.length + 1);
          slot.set(text.slice(0, position) + poison + text.slice(position));
          const before = await storeSnapshot(server.app);
          const result = await server.gql(operation.document, variables);
          const context = JSON.stringify({ field: slot.field, result }).slice(0, 1500);
          expect(result.status, context).not.toBe(500);
          const expected = slot.field === 'organizationId' ? { code: 'FORBIDDEN' } : { code: 'BAD_USER_INPUT', field: slot.field };
          expect(result.errors?.map((error) => error.extensions), context).toEqual([expected]);
          expect(await storeSnapshot(server.app), context).toBe(before);
        }),
        { numRuns: RUNS },
      );
      expect(await healthStatus(server)).toBe(200);
    });
  }
});

describe('deep JSON', () => {
  const RECORD = `mutation($org: ID!, $input: AuditEventInput!) { recordAuditEvent(organizationId: $org, input: $input) { id } }`;
  const rawBody = (attributes: string) =>
    `{"query":${JSON.stringify(RECORD)},"variables":{"org":"${server.orgId}","input":{"action":"deep_json","actor":{"id":"u"},"context":[{"id":"c","type":"t","attributes":${attributes}}]}}}`;
  const inlineBody = (attributes: string) =>
    JSON.stringify({
      query: `mutation($org: ID!) { recordAuditEvent(organizationId: $org, input: {action: "deep_json", actor: {id: "u"}, context: [{id: "c", type: "t", attributes: ${attributes}}]}) { id } }`,
      variables: { org: server.orgId },
    });

  for (const [how, body, text] of [
    ['as a variable', rawBody, nestedJsonText],
    ['inline', inlineBody, nestedLiteralText],
  ] as const) {
    it(`${how}: accepted up to 32 levels, refused with BAD_USER_INPUT beyond, at any depth up to 60,000`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 80, max: 60_000 })), async (depth) => {
          const before = await storeSnapshot(server.app);
          const result = await postRaw(server, body(text(depth)));
          expect(result.status).not.toBe(500);
          if (depth <= 32) {
            expect(result.errors, `depth ${depth}`).toBeUndefined();
          } else {
            expect(result.errors?.map((e) => e.extensions?.code), `depth ${depth}`).toEqual(['BAD_USER_INPUT']);
            expect(await storeSnapshot(server.app)).toBe(before);
          }
        }),
        { numRuns: RUNS },
      );
      expect(await healthStatus(server)).toBe(200);
    });
  }
});
